"""Masks for personal data: what a masked role sees instead of the value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import phonenumbers

__all__ = ["CONTACT_MASKS", "MASKS", "REDACTABLE", "apply_mask", "mask_contacts", "mask_email", "mask_last4",
           "mask_phone", "mask_year", "redact_text"]

_EMAIL = re.compile(r"[^@\s=~,]+@[^@\s=~,]+\.[A-Za-z]{2,}")
# A card number: 13 to 19 digits, optionally grouped by single spaces or dashes; only runs
# passing the Luhn check count, so order numbers and record ids stay readable.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# Free text is read in the gateway's default region. A match counts when phonenumbers calls it
# valid, or when it is a possible number of at least 10 digits standing on its own: reserved
# ranges such as 07700 900xxx are not "valid" yet are phone numbers to a reader, while record
# ids (pos:1000021), amounts and dates are short or glued to an id prefix.
TEXT_REGION = "GB"
_MIN_LOOSE_DIGITS = 10


def mask_email(value: str) -> str:
    """`ann.lee@example.com` → `a***@example.com`."""
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """Only the last three digits: `+442079460958` → `*******958`."""
    digits = re.sub(r"\D", "", value)
    return "*" * max(len(digits) - 3, 3) + digits[-3:]


def mask_last4(value: str) -> str:
    """A card number never beyond its last four digits."""
    digits = re.sub(r"\D", "", value)
    return digits[-4:]


def mask_year(value: Any) -> Any:
    """A date of birth to the year: 1 January of that year (the type stays a date)."""
    if isinstance(value, datetime):
        return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if isinstance(value, date):
        return value.replace(month=1, day=1)
    return None


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"****{digits[-4:]}" if _luhn(digits) else match.group(0)


def _mask_phones(text: str, region: str) -> str:
    # phonenumbers' matcher rather than a regex: it knows each region's numbering plan.
    pieces: list[str] = []
    last = 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        before = text[match.start - 1] if match.start else " "
        digits = re.sub(r"\D", "", match.raw_string)
        if before.isalnum() or before in ":/_-":
            continue
        if not phonenumbers.is_valid_number(match.number) and len(digits) < _MIN_LOOSE_DIGITS:
            continue
        pieces.append(text[last:match.start])
        pieces.append(mask_phone(match.raw_string))
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces)


REDACTABLE: tuple[str, ...] = ("email", "phone", "card")


def redact_text(value: str, kinds: frozenset[str] | tuple[str, ...] = REDACTABLE, region: str = TEXT_REGION) -> str:
    """Free text with every email, card and phone number of the given kinds in it masked: the one
    detector every path to a role's data goes through.

    Cards first (a card number is never a phone number), then emails, then phones; record ids
    and other digit runs that are none of these stay as they are.
    """
    text = _CARD.sub(_mask_card, value) if "card" in kinds else value
    if "email" in kinds:
        text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _mask_phones(text, region) if "phone" in kinds else text


def mask_contacts(value: str) -> str:
    """Free text (summaries, link reasons) with every email, card and phone number in it masked."""
    return redact_text(value)


def _redact(value: Any) -> Any:
    return None


_TEXT_MASKS: dict[str, Callable[[str], str]] = {
    "email": mask_email,
    "phone": mask_phone,
    "last4": mask_last4,
    "contacts": mask_contacts,
}
MASKS: tuple[str, ...] = (*_TEXT_MASKS, "year", "redact")
# A role masking any of these hides contact data, so its free text is redacted by default.
CONTACT_MASKS = frozenset({"email", "phone", "last4", "contacts"})


def apply_mask(kind: str, value: Any) -> Any:
    """Mask one value, or each item of a list."""
    if value is None:
        return None
    if isinstance(value, list):
        return [apply_mask(kind, v) for v in value]
    if kind == "year":
        return mask_year(value)
    if kind == "redact":
        return _redact(value)
    return _TEXT_MASKS[kind](value) if isinstance(value, str) else value
