"""Options of the `sql` connector: where the database is, limits, and one mapping per entity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from connectors.sdk.mapping import EntityMapBase
from connectors.sdk.regions import Region

__all__ = ["ASYNC_DRIVERS", "SqlEntityMap", "SqlOptions", "check_select", "resolve_url"]

# A bare dialect gets the async driver Onepane ships with.
ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "mysql": "mysql+aiomysql",
    "mariadb": "mariadb+aiomysql",
}
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|call|exec|execute"
    r"|into|lock|copy|vacuum|attach|detach|pragma)\b",
    re.IGNORECASE,
)
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def check_select(sql: str) -> str:
    """The statement, trimmed, when it is one read-only SELECT; else ValueError saying why."""
    statement = sql.strip().rstrip(";").strip()
    code = _LITERAL.sub("''", statement)
    if not re.match(r"(?is)^select\b", code):
        raise ValueError("select must be one SELECT statement")
    if ";" in code or "--" in code or "/*" in code:
        raise ValueError("select must be one SELECT statement, without ';' or comments")
    found = _WRITES.search(code)
    if found:
        raise ValueError(f"select must be read-only; it uses '{found.group(1).upper()}'")
    if text(statement)._bindparams:
        raise ValueError("select must not take :parameters; write values into it")
    return statement


class SqlEntityMap(EntityMapBase):
    """One entity read from a table (`schema.table` allowed) or from a custom read-only SELECT."""

    table: str | None = None
    select: str | None = None
    # Lookup (`id`, `ref:<name>`, `key:<name>`) → a column that already holds the comparison form
    # the connector would compute (a generated column with an index, as `federation indexes`
    # proposes): the lookup compares it as stored, so a plain index serves it. For engines
    # without expression indexes (MariaDB) this is the only way a normalizing lookup is indexed.
    lookup_columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("select")
    @classmethod
    def _read_only(cls, value: str | None) -> str | None:
        return None if value is None else check_select(value)

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(not p for p in value.split("."))):
            raise ValueError("table is a name or schema.name")
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> SqlEntityMap:
        if (self.table is None) == (self.select is None):
            raise ValueError("give exactly one of table or select")
        return self

    @model_validator(mode="after")
    def _known_lookups(self) -> SqlEntityMap:
        valid = ["id", *(f"ref:{r}" for r in self.refs), *(f"key:{k}" for k in self.keys)]
        for name, column in self.lookup_columns.items():
            if name not in valid:
                raise ValueError(f"lookup_columns: '{name}' is not a lookup of this entity (valid: {', '.join(valid)})")
            if not column.strip():
                raise ValueError(f"lookup_columns.{name}: give a column name")
        return self


class SqlOptions(BaseModel):
    """Everything under a `type: sql` source except type, description and timeout."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(repr=False)
    pool_size: int = Field(default=5, ge=1, le=100)
    statement_timeout: float = Field(default=3.0, gt=0)
    max_batch: int = Field(default=500, ge=1, le=10_000)
    max_rows: int = Field(default=1000, ge=1)
    text_pushdown: Literal["off", "casefold"] = "off"
    region: Region | None = None  # how this source writes phone numbers: connectors/sdk/regions.py
    entities: dict[str, SqlEntityMap] = Field(default_factory=dict)

    @field_validator("text_pushdown", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        return "off" if value is False else value  # YAML 1.1 reads a bare `off` as false

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; write e.g. sqlite+aiosqlite:///shop.db or "
                "postgresql+asyncpg://user:${DB_PASSWORD}@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ValueError(
                f"unsupported database '{url.get_backend_name()}' (valid: sqlite, postgresql, mysql, mariadb)"
            )
        return value


def resolve_url(raw: str, base_dir: Path) -> URL:
    """The URL with an async driver, and a relative SQLite path taken from `base_dir`."""
    url = make_url(raw)
    if url.drivername in ASYNC_DRIVERS:
        url = url.set(drivername=ASYNC_DRIVERS[url.drivername])
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database)
        if not database.startswith("file:") and not path.is_absolute():
            url = url.set(database=str(base_dir / path))
    return url
