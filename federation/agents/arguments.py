"""Argument checks for the agent tools: each failure names the argument and says what to give."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["MAX_WINDOW", "amount", "customer_id", "instant", "last4", "text", "window"]

MAX_TEXT = 200
MAX_WINDOW = timedelta(days=31)
_LAST4 = re.compile(r"\d{4}")


def text(name: str, value: str | None) -> str | None:
    """A search term: trimmed, not blank, at most 200 characters; None when not given."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ToolError(f"{name}: give a value or leave the argument out")
    if len(value) > MAX_TEXT:
        raise ToolError(f"{name}: at most {MAX_TEXT} characters")
    return value


def customer_id(value: str) -> str:
    """The gateway's id or any source reference, `source:localId`."""
    value = (text("customer_id", value) or "")
    source, _, local = value.partition(":")
    if not source or not local:
        raise ToolError(f'customer_id: give an id as source:localId, e.g. "shop:1" (find_customer returns them), '
                        f"not {value!r}")
    return value


def last4(value: str) -> str:
    digits = value.replace(" ", "")
    if not _LAST4.fullmatch(digits):
        raise ToolError('card_last4: give exactly the last four digits of the card, e.g. "4417"')
    return digits


def instant(name: str, value: str, end_of_day: bool = False) -> datetime:
    """ISO 8601; without an offset it is UTC; a date alone is the start of that day (or of the next)."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(f'{name}: give an ISO 8601 time such as "2025-11-18T16:30:00+00:00" or a date '
                        f'"2025-11-18", not {value!r}') from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ToolError("placed_to: must be after placed_from")
    if end - start > MAX_WINDOW:
        raise ToolError(f"placed_from/placed_to: the window is {(end - start).days} days; "
                        f"narrow it to {MAX_WINDOW.days} days or less")


def amount(value: str | float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise ToolError(f'amount: give the amount as a number such as "89.99", not {value!r}') from None
    if not parsed.is_finite() or parsed <= 0 or parsed.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ToolError(f'amount: give a positive amount with at most two decimals, such as "89.99", not {value!r}')
    return parsed
