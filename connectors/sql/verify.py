"""Check a mapping against the live database: every table, view and column it names must exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.sql.config import SqlEntityMap

__all__ = ["close_matches", "mapped_columns", "select_columns", "table_problems"]


def close_matches(name: str, candidates: Iterable[str]) -> str:
    """Up to three names like `name` (case ignored), or 'none'."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.casefold(), candidate)
    found = difflib.get_close_matches(name.casefold(), list(by_folded), n=3, cutoff=0.6)
    return ", ".join(by_folded[f] for f in found) or "none"


def mapped_columns(mapping: SqlEntityMap, regions: Sequence[str] = ()) -> Iterator[tuple[str, str]]:
    """(config path, column) for every column the mapping reads."""
    yield from (("id", c) for c in mapping.id.origin)
    for group, specs in (("fields", mapping.fields), ("keys", mapping.keys), ("refs", mapping.refs)):
        for name, spec in specs.items():
            yield from ((f"{group}.{name}", c) for c in spec.origin)
    if mapping.updated_at is not None:
        yield from (("updated_at", c) for c in mapping.updated_at.origin)
    yield from ((f"lookup_columns.{name}", c) for name, c in mapping.lookup_columns.items())
    # Country columns of `region: {column: …}` (entity, field and key level, then the source's).
    yield from (("region.column", c) for c in dict.fromkeys([*mapping.region_origins(), *regions]))


def column_problems(mapping: SqlEntityMap, where: str, columns: Sequence[str], exact_case: bool,
                    regions: Sequence[str] = ()) -> list[str]:
    """`<path>: no column 'X' in <where> (close matches: …)` for every mapped column not in `columns`."""
    present = set(columns) if exact_case else {c.casefold() for c in columns}
    out = []
    for path, column in mapped_columns(mapping, regions):
        if (column if exact_case else column.casefold()) not in present:
            out.append(f"{path}: no column '{column}' in {where} (close matches: {close_matches(column, columns)})")
    return list(dict.fromkeys(out))


def table_problems(conn: Connection, mapping: SqlEntityMap, regions: Sequence[str] = ()) -> list[str]:
    """Reflect the mapped table or view (run through `AsyncConnection.run_sync`)."""
    assert mapping.table is not None
    schema_name, _, name = mapping.table.rpartition(".")
    schema = schema_name or None
    inspector = sa.inspect(conn)
    exact_case = conn.dialect.name == "postgresql"
    if schema is not None:
        schemas = inspector.get_schema_names()
        if schema not in schemas and (exact_case or schema.casefold() not in {s.casefold() for s in schemas}):
            return [f"table: no schema '{schema}' for table '{mapping.table}' "
                    f"(close matches: {close_matches(schema, schemas)})"]
    if not inspector.has_table(name, schema=schema):
        names = [*inspector.get_table_names(schema=schema), *inspector.get_view_names(schema=schema)]
        return [f"table: no table or view '{mapping.table}' (close matches: {close_matches(name, names)})"]
    columns = [str(c["name"]) for c in inspector.get_columns(name, schema=schema)]
    return column_problems(mapping, f"table '{mapping.table}'", columns, exact_case, regions)


def select_columns(select: str) -> sa.Select[tuple[object, ...]]:
    """The custom SELECT wrapped to return no rows, only its column names."""
    return sa.select(sa.text("*")).select_from(sa.text(select).columns().subquery("onepane_probe")).where(sa.false())
