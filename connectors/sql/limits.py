"""What a mapped column can hold, from its declared type: the engine rejects a caller's value
beyond it before any call (a number no NUMERIC(10,2) holds overflows inside the database; a
string longer than a VARCHAR(12) can never match one).

Only where the value compared is the column's own: no transform, or transforms that never make a
value longer (strip, upper, lower, text); a Money field's amount column; keys whose normalizer
never lengthens a value (a phone number normalizes to a longer E.164 form, so it is left out).
SQLite does not enforce declared lengths or precisions; there only its own numeric range counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.sdk.mapping import FieldMap
from connectors.sql.config import SqlEntityMap
from federation.contract import ValueLimit
from federation.model.declaration import EntityDecl

__all__ = ["column_limits"]

_SAME_OR_SHORTER = frozenset({"strip", "upper", "lower", "text"})
_NORMALIZERS = frozenset({"exact", "code", "email", "text"})  # never longer than what is stored
_DOUBLE_MAX = Decimal("1.7976931348623157e308")  # beyond this SQLite has no number, only inf
_INTEGERS = {sa.SmallInteger: 2**15 - 1, sa.BigInteger: 2**63 - 1, sa.Integer: 2**31 - 1}


def _steps(spec: FieldMap) -> list[str]:
    names = []
    for step in spec.transform:
        names.append(step if isinstance(step, str) else next(iter(step), "") if isinstance(step, dict) else "")
    return names


def _number_limit(kind: Any, dialect: str) -> Decimal | None:
    if dialect == "sqlite":
        return _DOUBLE_MAX if isinstance(kind, sa.Numeric | sa.Integer | sa.Float) else None
    for integer, top in _INTEGERS.items():
        if isinstance(kind, integer):
            return Decimal(top)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float) and kind.precision:
        scale = kind.scale or 0
        return Decimal(10) ** (kind.precision - scale) - Decimal(10) ** -scale
    return None


def _limit(spec: FieldMap, normalizer: str, columns: Mapping[str, Any], dialect: str) -> ValueLimit | None:
    if not spec.origin:
        return None
    steps = _steps(spec)
    kind = columns.get(spec.origin[0].casefold())
    if kind is None:
        return None
    if (steps[:1] == ["money"] and len(steps) == 1) or (not steps and len(spec.origin) == 1):
        number = _number_limit(kind, dialect)
        if number is not None:
            return ValueLimit(max_abs=number)
    if len(spec.origin) != 1 or not set(steps) <= _SAME_OR_SHORTER or normalizer not in _NORMALIZERS:
        return None
    length = getattr(kind, "length", None)
    if dialect != "sqlite" and isinstance(kind, sa.String) and isinstance(length, int) and length > 0:
        return ValueLimit(max_length=length)
    return None


def column_limits(conn: Connection, mapping: SqlEntityMap, decl: EntityDecl | None) -> dict[str, ValueLimit]:
    """Limits of a table-mapped entity's fields (`name`), `id` and keys (`key:<name>`), by reflection."""
    if mapping.table is None:
        return {}
    schema_name, _, name = mapping.table.rpartition(".")
    dialect = conn.dialect.name
    reflected = sa.inspect(conn).get_columns(name, schema=schema_name or None)
    columns = {str(c["name"]).casefold(): c["type"] for c in reflected}
    out: dict[str, ValueLimit] = {}
    fields = decl.fields if decl is not None else {}
    keys = decl.keys if decl is not None else {}
    specs: list[tuple[str, FieldMap, str]] = [("id", mapping.id, "exact")]
    specs += [(n, s, (fields[n].normalize or "exact") if n in fields else "exact") for n, s in mapping.fields.items()]
    specs += [(f"key:{n}", s, keys[n].normalize if n in keys else "exact") for n, s in mapping.keys.items()]
    for label, spec, normalizer in specs:
        limit = _limit(spec, normalizer, columns, dialect)
        if limit is not None:
            out[label] = limit
    return out
