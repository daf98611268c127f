"""The one thing the gateway stores itself: manual link / never-link decisions between two records.

Rows are append-only (who, why, when); the latest row for a pair decides, and `forget` removes
the pair's decision. SQLite by default, PostgreSQL (or any SQLAlchemy async URL) by config.
Reads are served from a snapshot refreshed every `refresh_seconds` (and at once after a write
from this process), so identity costs no database round trip per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from federation.errors import OVERRIDE_STORE_UNAVAILABLE, OnepaneError

__all__ = ["IdentitySettings", "Override", "OverrideSettings", "OverrideStore", "OverrideStoreError", "Overrides"]

log = logging.getLogger("federation.identity")
Kind = Literal["link", "never", "forget"]
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg",
            "mysql": "mysql+aiomysql", "mariadb": "mariadb+aiomysql"}

_META = sa.MetaData()
TABLE = sa.Table(
    "onepane_identity_overrides", _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("record_a", sa.String(400), nullable=False),
    sa.Column("record_b", sa.String(400), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("principal", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_onepane_identity_overrides_pair", "entity", "record_a", "record_b"),
)


class OverrideStoreError(OnepaneError):
    """The override store could not be written; nothing was stored."""

    code = OVERRIDE_STORE_UNAVAILABLE


class OverrideSettings(BaseModel):
    """Where overrides live: `sqlite+aiosqlite:///overrides.db` (relative to the config file) or a URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(default="sqlite+aiosqlite:///overrides.db", repr=False)
    refresh_seconds: float = Field(default=2.0, ge=0, description="how old a read snapshot may be")

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL; write e.g. sqlite+aiosqlite:///overrides.db or "
                             "postgresql+asyncpg://user:${DB_PASSWORD}@host/db") from None
        return value


class IdentitySettings(BaseModel):
    """`gateway.identity`: the override store."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    overrides: OverrideSettings = OverrideSettings()


@dataclass(frozen=True, slots=True)
class Override:
    """One decision about two records (`source:localId`), by whom and why."""

    entity: str
    a: str
    b: str
    kind: Kind
    reason: str
    principal: str
    created_at: datetime

    def label(self) -> str:
        verb = "override by" if self.kind == "link" else "never-link by"
        return f"{verb} {self.principal}: {self.reason}"


class Overrides:
    """A snapshot: per entity, the effective decision for each pair of records."""

    def __init__(self, rows: list[Override] = []) -> None:  # noqa: B006 - never mutated
        latest: dict[tuple[str, str, str], Override] = {}
        for row in rows:
            latest[(row.entity, row.a, row.b)] = row
        self.by_record: dict[tuple[str, str], list[Override]] = {}
        for row in latest.values():
            if row.kind != "forget":
                self.by_record.setdefault((row.entity, row.a), []).append(row)
                self.by_record.setdefault((row.entity, row.b), []).append(row)

        self.entities = frozenset(entity for entity, _ in self.by_record)

    def of(self, entity: str, ref: str) -> list[Override]:
        return self.by_record.get((entity, ref), [])

    def about(self, entity: str) -> bool:
        """True when any decision names a record of `entity` (else callers skip the work)."""
        return entity in self.entities


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class OverrideStore:
    """Append-only rows in the gateway's own database, read through a short-lived snapshot."""

    def __init__(self, settings: OverrideSettings, base_dir: Path) -> None:
        self.settings = settings
        self.url = resolve_url(settings.url, base_dir)
        self._engine: AsyncEngine | None = None
        self._ready = False
        self._snapshot: Overrides | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_async_engine(self.url, poolclass=NullPool)
        return self._engine

    def _absent(self) -> bool:
        """A SQLite file nobody has written yet: read as empty, never created by a read."""
        database = self.url.database or ""
        return self.url.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
            and not Path(database).exists()

    async def _prepare(self) -> AsyncEngine:
        engine = self._require()
        if not self._ready:
            await create_tables(engine, self.url, _META)
            self._ready = True
        return engine

    async def snapshot(self) -> Overrides:
        """The current decisions; on a read failure the last good snapshot (or none) with a warning."""
        now = time.monotonic()
        if self._snapshot is not None and now - self._loaded_at < self.settings.refresh_seconds:
            return self._snapshot
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._loaded_at < self.settings.refresh_seconds:
                return self._snapshot
            try:
                rows = [] if self._absent() else await self._read()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("identity override store unreadable (%s); using the last snapshot",
                            type(exc).__name__)
                return self._snapshot or Overrides()
            self._snapshot, self._loaded_at = Overrides(rows), time.monotonic()
            return self._snapshot

    async def _read(self) -> list[Override]:
        engine = await self._prepare()
        async with engine.connect() as conn:
            result = await conn.execute(sa.select(TABLE).order_by(TABLE.c.id))
            return [Override(r.entity, r.record_a, r.record_b, r.kind, r.reason, r.principal,
                             _aware(r.created_at)) for r in result]

    async def add(self, entity: str, a: str, b: str, kind: Kind, reason: str, principal: str) -> Override:
        """Append one decision; OverrideStoreError when it could not be stored."""
        first, second = _pair(a, b)
        row = Override(entity, first, second, kind, reason, principal, datetime.now(UTC))
        try:
            engine = await self._prepare()
            async with engine.begin() as conn:
                await conn.execute(TABLE.insert().values(
                    entity=row.entity, record_a=row.a, record_b=row.b, kind=row.kind, reason=row.reason,
                    principal=row.principal, created_at=row.created_at))
        except (SQLAlchemyError, OSError) as exc:
            raise OverrideStoreError(f"the identity override store could not be written ({type(exc).__name__})"
                                     ) from exc
        self._snapshot = None
        return row

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve_url(raw: str, base_dir: Path) -> URL:
    """An async SQLAlchemy URL: `postgresql://` means asyncpg, a relative SQLite file lives in `base_dir`
    (the config's folder). Shared by every store the gateway keeps in its own database."""
    url = make_url(raw)
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not Path(database).is_absolute():
        url = url.set(database=str(base_dir / database))
    return url


async def create_tables(engine: AsyncEngine, url: URL, metadata: sa.MetaData) -> None:
    """Create `metadata`'s tables unless they exist (and a SQLite file's folder). Shared by every
    store the gateway keeps in its own database.

    Several instances starting together can race on CREATE TABLE in PostgreSQL (one fails on the
    catalog's unique index); by the time it fails the winner's table exists, so it checks once more.
    """
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all, checkfirst=True)
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
