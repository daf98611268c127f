import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.keys import (
    MIN_DIGITS,
    digit_forms,
    international,
    normalize_code,
    normalize_email,
    normalize_phone,
    normalize_sound_year,
    normalize_soundex,
    normalize_text,
    normalize_year,
    phone_key,
    phone_match_keys,
    read_phone,
)


@pytest.mark.parametrize("raw", [" Ann.Lee@Example.COM ", "ann.lee@example.com", "ANN.LEE @EXAMPLE.COM"])
def test_email_variants_normalize_to_one_key(raw: str) -> None:
    assert normalize_email(raw) == "ann.lee@example.com"


@pytest.mark.parametrize("raw", ["ann.example.com", "", "a@b", "@example.com"])
def test_malformed_email_is_no_key(raw: str) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "020-7946-0958", "02079460958", "0044 20 7946 0958"])
def test_phone_formats_normalize_to_e164(raw: str) -> None:
    assert normalize_phone(raw, "GB") == "+442079460958"


def test_impossible_phone_is_no_key() -> None:
    assert normalize_phone("12", "GB") is None
    assert normalize_phone("call me", "GB") is None


def test_digit_forms_cover_national_international_and_trunk() -> None:
    assert set(digit_forms("+442079460958")) >= {"2079460958", "442079460958", "02079460958", "4402079460958"}


def test_unreadable_phone_keeps_a_digits_key() -> None:
    # 11 digits are no GB number: the key is its digits, never an E.164 that does not exist.
    assert phone_key("28303384290", "GB") == "28303384290"
    assert phone_key("283 0338-4290", "GB") == "28303384290"
    assert normalize_phone("28303384290", "GB") is None


@pytest.mark.parametrize("raw", ["000", "12", "0000000000", "call me", "n/a", "  "])
def test_too_few_digits_or_a_placeholder_is_no_key(raw: str) -> None:
    assert phone_key(raw, "GB") is None
    assert phone_match_keys(raw, "GB") == ()


def test_trunk_prefix_in_international_form_reads_as_the_number() -> None:
    assert phone_key("+54 (0)11 4311 4333", "GB") == phone_key("+54 11 4311 4333", "US") == "+541143114333"


def test_readable_lookup_also_matches_unreadable_digit_copies() -> None:
    keys = phone_match_keys("+44 20 7946 0958", "US")
    assert keys[0] == "+442079460958"
    assert {"2079460958", "02079460958", "442079460958"} <= set(keys)


def test_a_national_spelling_is_a_digits_lookup_in_every_country() -> None:
    # What a German legacy screen shows, typed in a US gateway: the German number, and the
    # French one with the same national digits (no country was given: both are candidates).
    keys = set(phone_match_keys("030-0074321", "US"))
    assert {"+49300074321", "+33300074321", "0300074321", "300074321"} <= keys
    assert "+490300074321" not in keys  # where 0 is the trunk prefix no number starts with it
    assert "+390300074321" in set(phone_match_keys("030 0074321", "US"))  # Italy keeps its 0


def test_an_international_spelling_never_crosses_countries() -> None:
    for spelled in ("+49 30 0074321", "0049 30 0074321", "(+49) 30 0074321", "+49 (0)30 0074321"):
        assert international(spelled)
        keys = phone_match_keys(spelled, "US")
        assert [k for k in keys if k.startswith("+")] == ["+49300074321"], spelled
    assert not international("030-0074321") and not international("(030) 0074321")


_NUMBERS = [n for n in (phonenumbers.example_number_for_type(r, t) for r in sorted(phonenumbers.SUPPORTED_REGIONS)
                        for t in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE))
            # a national number of fewer than six digits (St Helena's 8999) identifies nobody by
            # its digits alone (MIN_DIGITS): only its E.164 spelling finds it
            if n is not None and len(phonenumbers.national_significant_number(n)) >= MIN_DIGITS]


@given(number=st.sampled_from(_NUMBERS), gateway=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
       form=st.sampled_from([phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.E164,
                             phonenumbers.PhoneNumberFormat.INTERNATIONAL]))
def test_a_stored_spelling_read_in_its_country_is_found_from_any_gateway(
        number: phonenumbers.PhoneNumber, gateway: str, form: int) -> None:
    """Stored in its own country's row, typed as stored into a gateway of any region: found.
    Written with its country code, the lookup's only E.164 key is the number's own."""
    region = phonenumbers.region_code_for_number(number)
    stored = phonenumbers.format_number(number, form)
    key, readable = read_phone(stored, region)
    assert readable and key is not None
    keys = phone_match_keys(stored, gateway)
    assert key in keys
    if international(stored):
        assert [k for k in keys if k.startswith("+")] == [key]


def test_order_numbers_written_differently_agree() -> None:
    assert normalize_code("BF-2025-0042") == normalize_code("bf 2025 0042") == "BF20250042"


def test_text_ignores_accents_case_and_spacing() -> None:
    assert normalize_text("  Zoë   SMITH ") == normalize_text("zoe smith") == "zoe smith"


@given(st.text())
def test_normalizers_never_raise(value: str) -> None:
    for fn in (normalize_email, normalize_code, normalize_text, normalize_soundex, normalize_year,
               normalize_sound_year):
        result = fn(value, "GB")
        assert result is None or result == fn(result, "GB")
    normalize_phone(value, "GB")


@pytest.mark.parametrize(("name", "code"), [
    ("Robert", "R163"), ("Rupert", "R163"), ("Ashcraft", "A261"), ("Tymczak", "T522"), ("Pfister", "P236"),
    ("Kowalski", "K420"), ("kowalsky", "K420"), ("Smith-Jones", "S532"), ("Müller", "M460"), ("O'Brien", "O165"),
])
def test_soundex_keeps_a_family_name_through_typos_and_accents(name: str, code: str) -> None:
    assert normalize_soundex(name) == code
    assert normalize_soundex(code) == code  # normalizing a key twice changes nothing
    assert normalize_soundex(" - ") is None


@pytest.mark.parametrize(("value", "key"), [
    ("kowalsky 19700321", "K420 1970"), ("Kowalski 1970-03-12", "K420 1970"), ("van der Berg 04/06/1985", "V536 1985"),
    ("kowalski", None), ("19700321", None),
])
def test_sound_year_keeps_one_key_for_a_phonetic_block(value: str, key: str | None) -> None:
    assert normalize_sound_year(value) == key


@pytest.mark.parametrize(("value", "year"), [
    ("1985-06-04", "1985"), ("19850604", "1985"), ("04/06/1985", "1985"), ("1985", "1985"), ("unknown", None),
])
def test_year_of_a_date_written_any_way(value: str, year: str | None) -> None:
    assert normalize_year(value) == year
