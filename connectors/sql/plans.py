"""Which mapped values SQL can compare, decided from the config alone (capabilities are static).

A Plan says how to compare one unified field, match key, id or ref in SQL: the column(s), the
style of the compared expression and the operators that style supports. Anything a Plan cannot
express exactly (several columns, constants, lossy transforms) gets no Plan: the core filters it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.sdk.currency import minor_digits
from connectors.sdk.mapping import FieldMap
from connectors.sdk.transforms import strptime_format
from federation.contract import Op
from federation.model.declaration import ModelDecl

__all__ = ["IdPlan", "Plan", "Style", "field_plan", "id_plan", "key_plan"]

Style = Literal["text", "email", "phone", "code", "exact", "number", "date", "datetime", "enum"]

_NEUTRAL = frozenset({"strip", "upper", "lower", "text", "null_if"})
_EQ: frozenset[Op] = frozenset({"eq", "in"})
_RANGE: frozenset[Op] = frozenset({"eq", "in", "gt", "gte", "lt", "lte"})
_TEXT: frozenset[Op] = frozenset({"eq", "in", "prefix", "contains"})
_NUMBERS = ("Int", "Float", "Decimal")
# Text formats whose string order is date order: year, month, day (, hour, minute, second).
_ORDERED = re.compile(r"^YYYY([-/.]?)MM\1DD(?:([ T]?)HH(:?)mm(?:\3ss)?)?$")


@dataclass(frozen=True, slots=True)
class Plan:
    """How one single-column value compares in SQL."""

    column: str
    style: Style
    ops: frozenset[Op]
    trim: bool = True
    fmt: str | None = None
    tz: str | None = None
    scale: int = 1
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stored: bool = False  # the column holds the compared form already (`lookup_columns`)
    # A key read from several columns (`phone: {columns: [phone, fax]}`): the others, compared
    # like `column`; a lookup matches a row where any of them matches.
    also: tuple[str, ...] = ()
    tidy: bool = False  # an email or code key whose stored values need only case and trim (KeyMap.tidy)

    @property
    def sortable(self) -> bool:
        return self.style in ("number", "date", "datetime")


@dataclass(frozen=True, slots=True)
class IdPlan:
    """An id or ref: one column, or several joined by `sep`, compared as trimmed text."""

    columns: tuple[str, ...]
    sep: str | None
    trim: bool
    case: Literal["", "upper", "lower"]
    stored: bool = False  # one column holding the compared (joined, trimmed) id: `lookup_columns`


def _name(step: Any) -> str:
    return step if isinstance(step, str) else next(iter(step))


def _arg(step: Any) -> Any:
    return None if isinstance(step, str) else next(iter(step.values()))


def _split(spec: FieldMap) -> tuple[list[Any], list[Any]] | None:
    """(neutral steps, typing steps); None when the map is not one column."""
    if len(spec.origin) != 1:
        return None
    neutral = [s for s in spec.transform if _name(s) in _NEUTRAL]
    typing = [s for s in spec.transform if _name(s) not in _NEUTRAL]
    return neutral, typing


# Normalizers SQL can reproduce as an expression; any other (soundex, year) serves a lookup only
# through a column that already holds the normalized value (`lookup_columns`).
SQL_NORMALIZERS = frozenset({"email", "phone", "code", "exact", "text"})


def stored_key_plan(spec: FieldMap, column: str) -> Plan | None:
    """A key mapped from several columns joined (`[SURNAME, DOB]` + `{join: " "}`), compared as a
    column already holds it (`lookup_columns`); None for other mappings SQL cannot repeat."""
    names = [_name(s) for s in spec.transform]
    if len(spec.origin) < 2 or any(n not in _NEUTRAL | {"join"} for n in names):
        return None
    return Plan(column, "exact", _EQ, stored=True)


def key_plan(spec: FieldMap, normalizer: str) -> Plan | None:
    """Keys compare through a normalizing SQL expression; only eq and in.

    Several columns without steps are several values of the key (a phone and a fax column):
    each is compared. Steps on several columns work on the list, not on each value: not pushed."""
    if normalizer not in SQL_NORMALIZERS:
        parts = _split(spec)
        if parts is None or parts[1]:
            return None
        return Plan(spec.origin[0], "exact", _EQ)  # usable only once stored (see _Entity.build)
    style: Style = normalizer if normalizer in ("email", "phone", "code", "exact") else "text"  # type: ignore[assignment]
    if len(spec.origin) > 1 and not spec.transform:
        return Plan(spec.origin[0], style, _EQ, also=tuple(spec.origin[1:]))
    parts = _split(spec)
    if parts is None or parts[1]:
        return None
    return Plan(spec.origin[0], style, _EQ, tidy=bool(getattr(spec, "tidy", False)) and style in ("email", "code"))


def id_plan(spec: FieldMap) -> IdPlan | None:
    """Single columns with neutral steps, or several columns joined by `{join: sep}`."""
    if not spec.origin:
        return None
    names = [_name(s) for s in spec.transform]
    if len(spec.origin) == 1:
        if any(n not in _NEUTRAL for n in names):
            return None
        sep = None
    else:
        joins = [s for s in spec.transform if _name(s) == "join"]
        if len(joins) != 1 or any(n not in _NEUTRAL | {"join"} for n in names):
            return None
        sep = _arg(joins[0]) if isinstance(_arg(joins[0]), str) else " "
        if not sep.strip():
            return None
    case: Literal["", "upper", "lower"] = "upper" if "upper" in names else "lower" if "lower" in names else ""
    # Local ids and refs are always trimmed (see RecordMapper), so text columns are too.
    return IdPlan(tuple(spec.origin), sep, True, case)


def field_plan(spec: FieldMap, type_name: str, model: ModelDecl) -> Plan | None:
    """A Plan when the field's single column compares exactly like the mapped value."""
    parts = _split(spec)
    if parts is None:
        return None
    neutral, typing = parts
    column = spec.origin[0]
    trim = any(_name(s) == "strip" for s in neutral) or not neutral
    if type_name in model.enums:
        return _enum_plan(column, typing, model.enums[type_name])
    if len(typing) > 1:
        return None
    step = typing[0] if typing else None
    name, arg = (_name(step), _arg(step)) if step is not None else ("", None)
    if type_name in ("String", "ID") and not step:
        return Plan(column, "text", _TEXT, trim)
    if type_name in _NUMBERS and not step and not neutral:
        return Plan(column, "number", _RANGE, False)
    if type_name == "Money" and name in ("money", "money_minor") and not neutral:
        digits = minor_digits(str(arg)) if name == "money_minor" else 0
        return Plan(column, "number", _RANGE, False, scale=10 ** (digits or 0))
    if type_name == "Date" and name in ("", "date"):
        return _date_plan(column, "date", arg, trim)
    if type_name == "DateTime" and name in ("", "datetime"):
        options = arg if isinstance(arg, Mapping) else {"format": arg}
        plan = _date_plan(column, "datetime", options.get("format"), trim)
        return plan and Plan(plan.column, plan.style, plan.ops, plan.trim, plan.fmt, options.get("tz") or "UTC")
    return None


def _date_plan(column: str, style: Style, pattern: Any, trim: bool) -> Plan | None:
    if pattern is None or str(pattern).upper() == "ISO":
        # ISO text dates sort as dates; ISO date-times only on native columns (fmt None).
        fmt = "%Y-%m-%d" if style == "date" else None
        return Plan(column, style, _RANGE, trim, fmt)
    if not isinstance(pattern, str) or not _ORDERED.match(pattern):
        return None
    return Plan(column, style, _RANGE, trim, strptime_format(pattern))


def _enum_plan(column: str, typing: list[Any], values: tuple[str, ...]) -> Plan | None:
    """`{enum: {C: COMPLETED}}`: the raw codes that decode to each enum value.

    A code decodes through the table, else to itself; anything not in the enum is UNKNOWN.
    """
    if len(typing) != 1 or _name(typing[0]) != "enum" or not isinstance(_arg(typing[0]), Mapping):
        return None
    table = {str(k).strip().upper(): str(v).strip().upper() for k, v in _arg(typing[0]).items()}
    codes = {
        value: (*(c for c, v in table.items() if v == value), *([value] if value not in table else []))
        for value in values if value != "UNKNOWN"
    }
    return Plan(column, "enum", _EQ, codes=codes)
