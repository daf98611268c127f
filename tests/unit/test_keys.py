import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.keys import digit_variants, normalize_code, normalize_email, normalize_phone, normalize_text


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


def test_digit_variants_cover_national_and_international() -> None:
    assert set(digit_variants("+442079460958")) >= {"442079460958", "02079460958"}


def test_order_numbers_written_differently_agree() -> None:
    assert normalize_code("BF-2025-0042") == normalize_code("bf 2025 0042") == "BF20250042"


def test_text_ignores_accents_case_and_spacing() -> None:
    assert normalize_text("  Zoë   SMITH ") == normalize_text("zoe smith") == "zoe smith"


@given(st.text())
def test_normalizers_never_raise(value: str) -> None:
    for fn in (normalize_email, normalize_code, normalize_text):
        result = fn(value, "GB")
        assert result is None or result == fn(result, "GB")
    normalize_phone(value, "GB")
