"""The `contacts` mask on free text: contact data is hidden, record ids and amounts are not."""

from __future__ import annotations

import pytest

from federation.security.masks import apply_mask


@pytest.mark.parametrize(("text", "expected"), [
    ("email = ann.lee@example.com ~ pos:1000021", "email = a***@example.com ~ pos:1000021"),
    ("phone = +442079460311 ~ crm:C-1003", "phone = *********311 ~ crm:C-1003"),
    ("CHARGE 978.00 GBP by CARD on 2025-03-04", "CHARGE 978.00 GBP by CARD on 2025-03-04"),
    ("order 20250304 shipped", "order 20250304 shipped"),
])
def test_record_ids_and_amounts_stay_readable(text: str, expected: str) -> None:
    assert apply_mask("contacts", text) == expected


def test_card_numbers_in_free_text_keep_only_the_last_four() -> None:
    masked = apply_mask("contacts", "Customer read out card 4111 1111 1111 1111 on the call")
    assert masked == "Customer read out card ****1111 on the call"


def test_a_digit_run_failing_luhn_is_not_a_card() -> None:
    assert apply_mask("contacts", "reference 4111111111111112") == "reference 4111111111111112"


def test_phone_numbers_and_emails_in_a_sentence_are_masked() -> None:
    masked = apply_mask("contacts", "Please call me back on 07700 900101 or write to ann.lee@example.com")
    assert "900101" not in masked and "ann.lee" not in masked
    assert masked.endswith("101 or write to a***@example.com")
