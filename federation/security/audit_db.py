"""The audit in one database table that every gateway instance behind a load balancer shares.

Each entry is inserted and committed before `append` returns — the same guarantee as the JSONL
file's fsync: an answer never leaves without its entry stored. PostgreSQL (`postgresql://…` means
asyncpg) or SQLite (`sqlite+aiosqlite:///audit.db`, relative to the config file), URLs normalized
exactly as the identity override store does. Statements are SQLAlchemy Core: parameterized only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from federation.errors import ConfigError, ConfigProblem
from federation.identity.overrides import create_tables, resolve_url
from federation.security.audit import AuditEntry, AuditLog, AuditSink, AuditUnavailable
from federation.security.settings import AuditSettings

__all__ = ["TABLE", "DatabaseAuditLog", "open_audit"]

log = logging.getLogger("federation.security.audit")

# A connection attempt to a host that drops packets would otherwise hold every audited request
# for asyncpg's default 60 s; the answer is withheld either way, so fail sooner.
_CONNECT_TIMEOUT = 10.0

_META = sa.MetaData()
TABLE = sa.Table(
    "onepane_audit", _META,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # Text, not VARCHAR(n): principal and operation names come from callers, and a value too long
    # for its column would fail the insert and so withhold the answer.
    sa.Column("principal", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("operation_hash", sa.String(64), nullable=False),
    sa.Column("operation_name", sa.Text, nullable=True),
    sa.Column("customer_ids", sa.Text, nullable=False),  # JSON: sorted list of ids
    sa.Column("fields", sa.Text, nullable=False),  # JSON: sorted list of Type.field
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Index("ix_onepane_audit_at", "at"),
)


def open_audit(settings: AuditSettings, folder: Path) -> AuditSink:
    """The sink `settings` names: the JSONL file (`path`) or the shared table (`url`).

    `folder` is the config file's folder: a relative SQLite database lives next to the config,
    as a relative `path` does (the config loader has already resolved `path`).
    """
    if settings.url is not None:
        return DatabaseAuditLog(settings.url, folder)
    assert settings.path is not None  # AuditSettings requires exactly one of path and url
    try:
        return AuditLog(settings.path, settings.fsync)
    except OSError as exc:  # e.g. made unwritable after `check`: a config error (exit 2), not a traceback
        raise ConfigError([ConfigProblem(str(folder), "security.audit.path",
                                         f"cannot write the audit file {settings.path}: "
                                         f"{exc.strerror or type(exc).__name__}")]) from exc


class DatabaseAuditLog:
    """Inserts each entry into `onepane_audit` and commits before returning.

    An `AuditSink`, like the file log. The engine is created on first use, inside the serving event loop that
    owns its pooled connections; an unreachable database therefore does not stop the gateway from
    starting, but every audited request is refused until it is back.
    """

    def __init__(self, url: str, folder: Path) -> None:
        self.url: URL = resolve_url(url, folder)
        self._engine: AsyncEngine | None = None
        self._ready = False
        self._setup = asyncio.Lock()

    def describe(self) -> str:
        """The URL for logs, password masked."""
        return self.url.render_as_string(hide_password=True)

    def _create_engine(self) -> AsyncEngine:
        options: dict[str, Any] = {"pool_pre_ping": True}  # a restarted database: reconnect, not fail once
        if self.url.get_backend_name() == "postgresql":
            options["connect_args"] = {"timeout": _CONNECT_TIMEOUT}
        return create_async_engine(self.url, **options)

    async def _prepare(self) -> AsyncEngine:
        async with self._setup:  # one table creation per process, however many first requests race
            if self._engine is None:
                self._engine = self._create_engine()
            if not self._ready:
                await create_tables(self._engine, self.url, _META)
                self._ready = True
            return self._engine

    async def append(self, entry: AuditEntry) -> None:
        """Return only once the row is committed; AuditUnavailable when it could not be."""
        row = {
            "at": datetime.now(UTC),
            "principal": entry.principal,
            "role": entry.role,
            "operation_hash": entry.operation_hash,
            "operation_name": entry.operation_name,
            "customer_ids": orjson.dumps(sorted(entry.customer_ids)).decode(),
            "fields": orjson.dumps(sorted(entry.fields)).decode(),
            "errors": entry.errors,
        }
        try:
            engine = await self._prepare()
            async with engine.begin() as conn:  # commits on leaving the block, or raises
                await conn.execute(TABLE.insert(), row)
        except Exception as exc:  # any failure, driver-specific ones included, withholds the answer
            # Whatever escaped here would reach the client as its message text (SQL, parameters,
            # the URL); AuditUnavailable and the log carry class names only.
            cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            what = type(exc).__name__ if cause is exc else f"{type(exc).__name__} from {type(cause).__name__}"
            log.error("audit table at %s could not be written (%s); answers are withheld until it can be",
                      self.describe(), what)
            # Check the table again next time: it may have been dropped, or the database replaced.
            self._ready = False
            raise AuditUnavailable(exc) from exc

    async def aclose(self) -> None:
        engine, self._engine = self._engine, None
        self._ready = False
        if engine is not None:
            await engine.dispose()
