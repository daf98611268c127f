"""What a connector found in its source, in terms the guessing understands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ColumnProfile", "Kind", "TableProfile", "words"]

# The storage kind of a column or JSON property, as far as the source says.
Kind = Literal["text", "int", "decimal", "float", "date", "datetime", "bool", "json", "other"]


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One column (SQL) or property path (JSON) and what is declared about it."""

    name: str  # the column name or the JMESPath, as the mapping writes it
    kind: Kind = "other"
    primary: bool = False
    refers_to: tuple[str, str] | None = None  # (table, column) from a declared foreign key
    enum: tuple[str, ...] = ()  # declared values (an OpenAPI enum, a SQL ENUM)
    format: str = ""  # an OpenAPI format (email, date-time, …)
    description: str = ""


@dataclass(frozen=True, slots=True)
class TableProfile:
    """One table or endpoint: its columns, key and a bounded sample of its rows."""

    name: str  # what the user calls it (table name, endpoint path)
    columns: tuple[ColumnProfile, ...]
    origin: Mapping[str, Any]  # the mapping keys that say where it is: {table: …} or {path: …, records: …}
    primary_key: tuple[str, ...] = ()
    rows: tuple[Mapping[str, Any], ...] = ()
    sampled: bool = True  # False: the source was not read (a schema alone), so no row evidence exists
    label: str = ""  # extra words naming it (an OpenAPI schema name, a tag)
    notes: tuple[str, ...] = field(default=())
    # Columns a primary key, UNIQUE constraint or unique index of their own covers: a key read
    # from one is drafted `unique: true` (docs/identity.md, "Keys unique in their source").
    unique: frozenset[str] = frozenset()

    def column(self, name: str) -> ColumnProfile | None:
        return next((c for c in self.columns if c.name == name), None)

    def values(self, name: str) -> list[Any]:
        """The sampled non-empty values of one column, in row order."""
        return [v for row in self.rows if (v := row.get(name)) is not None and v != ""]


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def words(name: str) -> tuple[str, ...]:
    """`order_details` → (order, detail); `customerEmail` → (customer, email); plurals made singular."""
    parts = [p.lower() for p in _SPLIT.split(_CAMEL.sub("_", name)) if p]
    return tuple(_singular(p) for p in parts)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
