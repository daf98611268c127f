"""The index a lookup needs so that the statement the connector sends is an index search.

A lookup compares the bare column where the column's own comparison allows (query.plain_params):
a plain index serves it. Others compare a normalizing expression (`lower(trim(email))`, phone
digits without separators, trimmed text ids), which a plain index does not serve. SQLite,
PostgreSQL and MySQL 8 index the expression itself; MariaDB cannot, so it
gets a generated column with an index plus the `lookup_columns` line that makes the connector
compare that column as stored. `federation indexes CONFIG` prints these statements; nothing
here runs DDL: a legacy database belongs to its owners.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from connectors.sql import query
from connectors.sql.plans import IdPlan, Plan

__all__ = ["Lookup", "advice"]

_NAME_LIMIT = 60  # PostgreSQL cuts identifiers at 63 bytes, MySQL refuses more than 64


@dataclass(frozen=True, slots=True)
class Lookup:
    """One lookup of one entity: its name (`id`, `ref:x`, `key:x`) and how it compares."""

    name: str
    plan: Plan | IdPlan
    plain: bool = False  # compares the bare column (query.plain_params): a plain index serves it


def _identifier(*parts: str) -> str:
    text = re.sub(r"[^0-9a-zA-Z_]+", "_", "_".join(parts)).strip("_").lower()
    return text[:_NAME_LIMIT]


def _expression(lookup: Lookup, cols: Mapping[str, sa.ColumnClause[Any]],
                kinds: Mapping[str, query.Kind]) -> sa.ColumnElement[Any] | None:
    """Exactly the expression the lookup's WHERE compares; None for a composite id."""
    plan = lookup.plan
    if lookup.plain:
        return cols[_columns(lookup)[0]]
    if isinstance(plan, IdPlan):
        if len(plan.columns) != 1:
            return None
        if plan.stored:
            return cols[plan.columns[0]]
        return query.id_expr(plan, cols[plan.columns[0]], kinds.get(plan.columns[0]))
    return query.key_expr(plan, cols[plan.column], kinds.get(plan.column))


def _columns(lookup: Lookup) -> Sequence[str]:
    plan = lookup.plan
    return plan.columns if isinstance(plan, IdPlan) else (plan.column,)


def _index_name(index: str, table: sa.TableClause, dialect: Dialect) -> str:
    """SQLite names an attached schema on the index, every other engine on the table."""
    if dialect.name == "sqlite" and table.schema:
        return f"{dialect.identifier_preparer.quote_schema(table.schema)}.{index}"
    return index


def _on(table: sa.TableClause, dialect: Dialect) -> str:
    if dialect.name == "sqlite":
        return dialect.identifier_preparer.quote(table.name)
    return dialect.identifier_preparer.format_table(table)


def advice(source: str, entity: str, table_name: str, lookups: Sequence[Lookup],
           kinds: Mapping[str, query.Kind], dialect: Dialect) -> list[str]:
    """SQL statements (and `--` notes) that index every lookup of one mapped table."""
    schema, _, name = table_name.rpartition(".")
    # Unqualified columns: CREATE INDEX names its table once, and SQLite refuses `table.column` there.
    cols: dict[str, sa.ColumnClause[Any]] = {c: sa.column(c) for lookup in lookups for c in _columns(lookup)}
    table = sa.table(name, schema=schema or None)
    mariadb = bool(getattr(dialect, "is_mariadb", False))
    render: Callable[[sa.ClauseElement], str] = lambda e: str(  # noqa: E731
        e.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    target = dialect.identifier_preparer.format_table(table)
    out: list[str] = []
    for lookup in lookups:
        if (isinstance(lookup.plan, Plan) and lookup.plan.style == "text" and not lookup.plan.stored
                and not lookup.plain):
            out.append(f"-- {entity} {lookup.name}: compares accent- and case-folded text, which depends on the "
                       f"database; give it a generated column holding the folded text and lookup_columns")
            continue
        expr = _expression(lookup, cols, kinds)
        index = _identifier("onepane", name, lookup.name.replace(":", "_"))
        if expr is None:
            out.append(f"-- {entity} {lookup.name}: a composite id; index its columns together, in order")
            continue
        plain = isinstance(expr, sa.ColumnClause)
        casts = not plain and any(kinds.get(c) not in (None, "str") for c in _columns(lookup))
        if plain or not mariadb:
            if casts and dialect.name == "postgresql":
                out.append(f"-- {entity} {lookup.name}: compares {render(expr)}; PostgreSQL cannot index a cast "
                           f"of this type (not immutable): give it a generated text column and lookup_columns")
                continue
            guard = "IF NOT EXISTS " if dialect.name in ("sqlite", "postgresql") else ""
            # Every engine takes an expression key part in its own parentheses: ((expr)).
            part = render(expr) if plain else f"({render(expr)})"
            out.append(f"CREATE INDEX {guard}{_index_name(index, table, dialect)} ON {_on(table, dialect)} ({part});")
            continue
        generated = _identifier("onepane", lookup.name.replace(":", "_"))
        out.append(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {generated} VARCHAR(255) "
                   f"AS ({render(expr)}) VIRTUAL, ADD INDEX IF NOT EXISTS {index} ({generated});")
        out.append(f"-- then in the config: sources.{source}.entities.{entity}.lookup_columns: "
                   f"{{\"{lookup.name}\": {generated}}}")
    return out
