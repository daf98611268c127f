"""What sampled values look like: emails, phones, countries, dates, epochs, amounts, codes.

Each test returns the share of the non-empty values that pass (0.0 when there are none), so a
guess can say how sure it is ("94% of 300 sampled values parse as emails").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import phonenumbers

from federation.regions import region_code

__all__ = [
    "codes",
    "looks_country",
    "looks_email",
    "looks_epoch",
    "looks_iso_datetime",
    "looks_phone",
    "looks_yyyymmdd",
    "share",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01


def share(values: Sequence[Any], test: Callable[[Any], bool]) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 0.0


def looks_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def looks_phone(value: Any, region: str | None) -> bool:
    """A possible number in `region` (or written with its country code), with 6+ digits."""
    if not isinstance(value, str) or sum(c.isdigit() for c in value) < 6 or "@" in value:
        return False
    try:
        number = phonenumbers.parse(value, region or "ZZ")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


def looks_country(value: Any) -> bool:
    return isinstance(value, str) and not value.strip().isdigit() and region_code(value) is not None


def looks_yyyymmdd(value: Any) -> bool:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if len(text) != 8 or not text.isdigit() or not 1900 <= int(text[:4]) <= 2100:
        return False
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return True


def looks_iso_datetime(value: Any) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str) or len(value) < 10:
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def looks_epoch(value: Any) -> str | None:
    """The epoch unit (`s`, `ms`) an integer reads in as a date between 2000 and 2100, else None."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    low, high = _EPOCH_S
    if low <= value < high:
        return "s"
    if low * 1000 <= value < high * 1000:
        return "ms"
    return None


def codes(values: Sequence[Any], max_codes: int = 12) -> list[str] | None:
    """The distinct short codes of a column that repeats a few values, else None."""
    texts = [str(v).strip() for v in values
             if (isinstance(v, str) and v.strip()) or (isinstance(v, int) and not isinstance(v, bool))]
    if len(texts) < len(values) or not texts:
        return None
    distinct = sorted(set(texts))
    if len(distinct) > max_codes or len(texts) < 2 * len(distinct) or any(len(t) > 24 for t in distinct):
        return None
    return distinct
