"""Filter and sort records in memory: what a source could not push down, done the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from federation.contract import Condition, SortKey
from federation.keys import normalize_text
from federation.records import Money, Record

__all__ = ["comparable", "field_values", "matches", "sort_records"]


def field_values(record: Record, name: str) -> list[Any]:
    """The record's values for a field or a match key (keys may hold several)."""
    if name in record.fields:
        value = record.fields[name]
        if value is None:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]
    return list(record.keys.get(name, ()))


def comparable(value: Any) -> Any:
    """A value two sources' representations can be compared by (case and accents ignored)."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, str):
        return normalize_text(value) or ""
    return value


class _NoMatch:
    """A query value that cannot compare with the record's value: equal to nothing."""

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


_NO_MATCH = _NoMatch()


def _coerce_like(target: Any, value: Any) -> Any:
    if isinstance(target, Decimal) and not isinstance(value, Decimal):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return _NO_MATCH
    if isinstance(target, datetime) and isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=target.tzinfo)
    return comparable(value)


def _test(condition: Condition, value: Any) -> bool:
    left = comparable(value)
    if condition.op == "in":
        return any(left == _coerce_like(left, v) for v in condition.value)
    right = _coerce_like(left, condition.value)
    try:
        match condition.op:
            case "eq":
                return bool(left == right)
            case "gt":
                return bool(left > right)
            case "gte":
                return bool(left >= right)
            case "lt":
                return bool(left < right)
            case "lte":
                return bool(left <= right)
            case "prefix":
                return str(left).startswith(str(right))
            case "contains":
                return str(right) in str(left)
    except TypeError:
        return False
    return False


def matches(record: Record, conditions: Iterable[Condition]) -> bool:
    """True when every condition holds for at least one of the record's values."""
    return all(any(_test(c, v) for v in field_values(record, c.field)) for c in conditions)


_MISSING = object()


def _first(record: Record, name: str) -> Any:
    """`field_values(record, name)[0]` without building the list; _MISSING when there is none."""
    fields = record.fields
    if name in fields:
        value = fields[name]
        if isinstance(value, list | tuple):
            return value[0] if value else _MISSING
        return _MISSING if value is None else value
    values = record.keys.get(name)
    return values[0] if values else _MISSING


def sort_records(records: Sequence[Record], order: Sequence[SortKey]) -> list[Record]:
    """Stable sort; missing values last whatever the direction."""
    out = list(records)
    for key in reversed(order):
        firsts = [(_first(r, key.field), r) for r in out]  # each record's value read once
        present = [(v if type(v) in _PLAIN else comparable(v), r) for v, r in firsts if v is not _MISSING]
        missing = [r for v, r in firsts if v is _MISSING]
        present.sort(key=itemgetter(0), reverse=key.descending)
        out = [r for _, r in present] + missing
    return out


_PLAIN = frozenset({int, float, Decimal, datetime, date, bool})  # compare as they are (see comparable)
