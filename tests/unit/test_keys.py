import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.keys import (
    digit_forms,
    normalize_code,
    normalize_email,
    normalize_phone,
    normalize_sound_year,
    normalize_soundex,
    normalize_text,
    normalize_year,
    phone_key,
    phone_match_keys,
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
