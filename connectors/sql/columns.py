"""What the database says about a mapped table's columns: type, length and collation.

A lookup can compare the bare column, and so use the plain index a legacy table already has,
only where the column's own comparison already does what the normalizing expression does
(`query.plain_params`). That depends on the column: `CHAR(n)` on PostgreSQL ignores trailing
blanks, a MariaDB PAD SPACE collation does too and a `_ci` one ignores case, an integer column
holds no blanks at all. Read once per mapped table (one bounded catalogue query), cached by the
connector; a table the catalogue does not show (a view without rights, a custom select) simply
keeps the expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["ColumnFacts", "read_facts"]

_MAX_COLUMNS = 4096  # bounded: no real table has more (MariaDB allows 4,096, PostgreSQL 1,600)


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """One column as the catalogue describes it."""

    dialect: str
    type: str  # lower case: 'character', 'varchar', 'integer', sqlite's declared type …
    length: int | None = None  # characters a CHAR/VARCHAR holds
    collation: str | None = None

    @property
    def pads(self) -> bool:
        """Equality ignores trailing blanks: PostgreSQL `character`, MariaDB PAD SPACE char/varchar."""
        if self.dialect == "postgresql":
            return self.type == "character" and self.length is not None
        if self.dialect in ("mysql", "mariadb"):
            # Every MariaDB collation pads except the `_nopad_` ones (and MySQL 8's `0900`s).
            name = (self.collation or "").lower()
            return (self.type in ("char", "varchar") and self.length is not None and bool(name)
                    and "nopad" not in name and "_0900_" not in name)
        return False

    @property
    def case_blind(self) -> bool:
        """Equality ignores letter case: a MariaDB/MySQL `_ci` collation."""
        name = (self.collation or "").lower()
        return self.dialect in ("mysql", "mariadb") and (name.endswith("_ci") or "_ci_" in name)

    @property
    def integers(self) -> bool:
        """An integer column; on SQLite, INTEGER affinity (numeric text is stored as a number)."""
        if self.dialect == "sqlite":
            return "INT" in self.type.upper()
        return self.type in ("smallint", "integer", "bigint", "int", "tinyint", "mediumint")

    @property
    def int_range(self) -> tuple[int, int]:
        """Values the column can hold: a bound value outside them matches nothing (and PostgreSQL
        would refuse to bind it)."""
        if self.dialect == "postgresql":
            bits = {"smallint": 16, "integer": 32}.get(self.type, 64)
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if self.dialect == "sqlite":
            return -(2 ** 63), 2 ** 63 - 1
        return -(2 ** 63), 2 ** 64 - 1  # MariaDB: unsigned BIGINT reaches 2^64 - 1


_PG = sa.text(
    "SELECT column_name, data_type, character_maximum_length, collation_name FROM information_schema.columns"
    " WHERE table_schema = coalesce(:schema, current_schema()) AND table_name = :table LIMIT :limit")
_MARIA = sa.text(
    "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, COLLATION_NAME FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = coalesce(:schema, DATABASE()) AND TABLE_NAME = :table LIMIT :limit")


async def read_facts(conn: AsyncConnection, table: str) -> Mapping[str, ColumnFacts]:
    """Column name (case-folded except on PostgreSQL) → facts, for one mapped table."""
    dialect = conn.dialect.name
    schema_name, _, name = table.rpartition(".")
    schema = schema_name or None
    if dialect == "sqlite":
        prep = conn.dialect.identifier_preparer
        prefix = f"{prep.quote_schema(schema)}." if schema else ""
        result = await conn.exec_driver_sql(f"PRAGMA {prefix}table_info({prep.quote(name)})")
        pragma: list[tuple[Any, ...]] = [tuple(row) for row in result.all()]  # cid, name, type, …
        return {str(row[1]).casefold(): ColumnFacts(dialect, str(row[2] or "")) for row in pragma}
    if dialect not in ("postgresql", "mysql", "mariadb"):
        return {}
    statement = _PG if dialect == "postgresql" else _MARIA
    rows = (await conn.execute(statement, {"schema": schema, "table": name, "limit": _MAX_COLUMNS})).all()
    out: dict[str, ColumnFacts] = {}
    for row in rows:
        cells: tuple[Any, ...] = tuple(row)
        column, data_type, length, collation = cells
        key = str(column) if dialect == "postgresql" else str(column).casefold()
        out[key] = ColumnFacts(dialect, str(data_type).lower(), int(length) if length is not None else None,
                               str(collation) if collation is not None else None)
    return out


def facts_of(facts: Mapping[str, ColumnFacts], column: str, dialect: str) -> ColumnFacts | None:
    return facts.get(column if dialect == "postgresql" else column.casefold())
