"""Values a source could never hold, rejected before any call (issue 25).

A caller's number beyond what a source's column holds (`amount: "1e999999"` against a
NUMERIC(10,2)) or a text longer than the column can store (a 10,000-character loyalty number
against a CHAR(12)) can match nothing there, and sent anyway makes the source fail. Connectors
say what their columns hold (`Connector.value_limits`, read at start); a value beyond the limit
of a source the request would ask is BAD_USER_INPUT naming the argument, and no source is called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from federation.contract import Condition, ValueLimit
from federation.errors import QueryError
from federation.messages import cut
from federation.records import Money

__all__ = ["Limits", "check_conditions", "check_lookup"]

_INTEGER = re.compile(r"^[+-]?\d{1,4300}$")
Limits = Mapping[str, Mapping[str, Mapping[str, ValueLimit]]]  # source → entity → name → limit


def _number(value: Any) -> Decimal | None:
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def _shown(number: Decimal) -> str:
    return f"{number:f}" if abs(number.adjusted()) < 16 else f"{number:.3g}"


def _beyond(value: Any, limit: ValueLimit, source: str) -> str | None:
    """Why `value` cannot be held under `limit`, or None (an id given as text counts as its number)."""
    number = _number(int(value)) if isinstance(value, str) and _INTEGER.match(value) else _number(value)
    if number is not None and limit.max_abs is not None and number.is_finite() and abs(number) > limit.max_abs:
        return f"is beyond what source '{source}' can hold (at most {_shown(limit.max_abs)} in size)"
    if isinstance(value, str) and limit.max_length is not None and len(value) > limit.max_length:
        return f"is longer than source '{source}' can store ({len(value)} characters; at most {limit.max_length})"
    return None


def _check(limits: Limits, sources: Iterable[str], entity: str, names: Sequence[str], argument: str,
           values: Iterable[Any]) -> None:
    for source in sources:
        known = limits.get(source, {}).get(entity, {})
        limit = next((known[n] for n in names if n in known), None)
        if limit is None:
            continue
        for value in values:
            reason = _beyond(value, limit, source)
            if reason:
                shown = cut(_shown(value) if isinstance(value, Decimal) else str(value), 40)
                raise QueryError(f"{argument}: {shown} {reason}; no source was asked", argument)


def check_conditions(limits: Limits, sources: Iterable[str], entity: str, conditions: Sequence[Condition]) -> None:
    """Each condition's value(s) against the limit of its field (or key) in every source asked."""
    names = list(sources)
    for condition in conditions:
        values = condition.value if condition.op == "in" and isinstance(condition.value, list | tuple) \
            else [condition.value]
        _check(limits, names, entity, (condition.field, f"key:{condition.field}"), condition.field, values)


def check_lookup(limits: Limits, sources: Iterable[str], entity: str, by: str, values: Iterable[str]) -> None:
    """Looked-up values against the limit of the `by` column in every source asked."""
    argument = by.removeprefix("key:")
    _check(limits, list(sources), entity, (by,), argument, list(values))
