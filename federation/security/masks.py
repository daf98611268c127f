"""Masks for personal data: what a masked role sees instead of the value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

__all__ = ["MASKS", "apply_mask", "mask_contacts", "mask_email", "mask_last4", "mask_phone", "mask_year"]

_EMAIL = re.compile(r"[^@\s=~,]+@[^@\s=~,]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d \-().]{6,}\d")


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


def mask_contacts(value: str) -> str:
    """Free text (summaries, link reasons) with every email and phone number in it masked."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), value)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def _redact(value: Any) -> Any:
    return None


_TEXT_MASKS: dict[str, Callable[[str], str]] = {
    "email": mask_email,
    "phone": mask_phone,
    "last4": mask_last4,
    "contacts": mask_contacts,
}
MASKS: tuple[str, ...] = (*_TEXT_MASKS, "year", "redact")


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
