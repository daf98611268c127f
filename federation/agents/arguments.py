"""Argument checks for the agent tools: every failure names its argument and says what to give.

A tool checks all its arguments before it answers, so an agent that got three of them wrong
learns about all three at once (`Checks.done()` raises one ToolError listing every problem)
instead of fixing one per round trip.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from mcp.server.mcpserver.exceptions import ToolError

from federation.messages import cut

__all__ = ["MAX_WINDOW", "Checks"]

MAX_TEXT = 200
MAX_WINDOW = timedelta(days=31)
_LAST4 = re.compile(r"\d{4}")


class Checks:
    """One tool call's argument checks; each method records a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def done(self) -> None:
        """Raise one ToolError naming every bad argument, or return when all were fine."""
        if len(self.problems) == 1:
            raise ToolError(self.problems[0])
        if self.problems:
            raise ToolError(f"{len(self.problems)} arguments need fixing: " + "; ".join(self.problems))

    def _bad(self, message: str) -> None:
        self.problems.append(message)

    def text(self, name: str, value: str | None) -> str | None:
        """A search term: trimmed, not blank, at most 200 characters; None when not given or bad."""
        if value is None:
            return None
        value = value.strip()
        if not value:
            self._bad(f"{name}: give a value or leave the argument out")
            return None
        if len(value) > MAX_TEXT:
            self._bad(f"{name}: at most {MAX_TEXT} characters")
            return None
        return value

    def customer_id(self, value: str) -> str:
        """The gateway's id or any source reference, `source:localId`."""
        before = len(self.problems)
        value = self.text("customer_id", value) or ""
        source, _, local = value.partition(":")
        if len(self.problems) == before and (not source or not local):
            self._bad(f'customer_id: give an id as source:localId, e.g. "shop:1" (find_customer returns them), '
                      f"not {cut(value)!r}")
        return value

    def last4(self, value: str) -> str:
        digits = value.replace(" ", "")
        if not _LAST4.fullmatch(digits):
            self._bad('card_last4: give exactly the last four digits of the card, e.g. "4417"')
        return digits

    def instant(self, name: str, value: str, end_of_day: bool = False) -> datetime | None:
        """ISO 8601; without an offset it is UTC; a date alone is the start of that day (or of the next)."""
        value = value.strip()
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
                return moment + timedelta(days=1) if end_of_day else moment
            moment = datetime.fromisoformat(value)
        except ValueError:
            self._bad(f'{name}: give an ISO 8601 time such as "2025-11-18T16:30:00+00:00" or a date '
                      f'"2025-11-18", not {cut(value)!r}')
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def window(self, start: datetime | None, end: datetime | None) -> None:
        if start is None or end is None:
            return  # already reported
        if end <= start:
            self._bad("placed_to: must be after placed_from")
        elif end - start > MAX_WINDOW:
            self._bad(f"placed_from/placed_to: the window is {(end - start).days} days; "
                      f"narrow it to {MAX_WINDOW.days} days or less")

    def amount(self, value: str | float | None) -> Decimal | None:
        if value is None:
            return None
        try:
            parsed = Decimal(str(value).strip())
        except InvalidOperation:
            self._bad(f'amount: give the amount as a number such as "89.99", not {cut(str(value))!r}')
            return None
        if not parsed.is_finite() or parsed <= 0 or parsed.as_tuple().exponent < -2:  # type: ignore[operator]
            self._bad(f'amount: give a positive amount with at most two decimals, such as "89.99", '
                      f"not {cut(str(value))!r}")
            return None
        return parsed
