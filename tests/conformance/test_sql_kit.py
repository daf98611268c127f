"""The built-in `sql` connector passes the conformance kit on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sdk.testing import TABLES, ConnectorConformance, Harness, SourceCalls, context, load_sql, mapping
from connectors.sql import SqlConnector
from tests.conftest import require_service

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MARIA_ADMIN = "mysql+aiomysql://root@127.0.0.1:3306/test"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


Database = tuple[str, str | None, Callable[[], AbstractAsyncContextManager[None]]]
LOCKS = {  # what another session runs to hold every read of the kit's tables until it ends
    "sqlite": ["BEGIN EXCLUSIVE"],
    "postgresql": ["BEGIN", "LOCK TABLE {customers}, {purchases} IN ACCESS EXCLUSIVE MODE"],
    "mariadb": ["LOCK TABLES {customers} WRITE, {purchases} WRITE"],
}


def _stall(url: str, backend: str, schema: str | None) -> Callable[[], AbstractAsyncContextManager[None]]:
    names = {t: f"{schema}.{t}" if schema else t for t in TABLES.values()}

    @asynccontextmanager
    async def stall() -> AsyncIterator[None]:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for statement in LOCKS[backend]:
                    await conn.exec_driver_sql(statement.format(**names))
                try:
                    yield
                finally:
                    await conn.exec_driver_sql("UNLOCK TABLES" if backend == "mariadb" else "ROLLBACK")
        finally:
            await engine.dispose()

    return stall


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database holding the kit's dataset: its URL, the schema the tables are in, and a way
    to lock them from another session."""
    name = f"onepane_kit_{uuid.uuid4().hex[:8]}"
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}"
        asyncio.run(load_sql(url))
        yield url, None, _stall(url, backend, None)
        return
    if backend == "postgresql":
        require_service("127.0.0.1", 5432, "PostgreSQL")
        asyncio.run(_admin(PG_ADMIN, f"CREATE SCHEMA {name}"))
        try:
            asyncio.run(load_sql(PG_ADMIN, name))
            yield PG_ADMIN, name, _stall(PG_ADMIN, backend, name)
        finally:
            asyncio.run(_admin(PG_ADMIN, f"DROP SCHEMA {name} CASCADE"))
        return
    require_service("127.0.0.1", 3306, "MariaDB")
    asyncio.run(_admin(MARIA_ADMIN, f"CREATE DATABASE {name}"))
    url = f"mysql+aiomysql://root@127.0.0.1:3306/{name}"
    try:
        asyncio.run(load_sql(url))
        yield url, None, _stall(url, backend, None)
    finally:
        asyncio.run(_admin(MARIA_ADMIN, f"DROP DATABASE {name}"))


TIMEOUT = 2.0


class TestSqlConnector(ConnectorConformance):
    @pytest.fixture
    def conformance_harness(self, database: Database, tmp_path: Path) -> Iterator[Harness]:
        url, schema, stall = database
        calls = SourceCalls()

        def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):  # not session settings
                calls.hit()

        event.listen(sa.engine.Engine, "before_cursor_execute", counted)
        # 2 s, not less: the first statement on a fresh PostgreSQL connection may wait on asyncpg's
        # type introspection, which a loaded CI machine has been seen to take past 0.5 s over.
        options = {"url": url, "statement_timeout": TIMEOUT, "entities": {
            entity: {"table": f"{schema}.{TABLES[entity]}" if schema else TABLES[entity], **mapping(entity)}
            for entity in TABLES}}

        def make() -> SqlConnector:
            return SqlConnector("kit", SqlConnector.validate_options(options), context(tmp_path))

        yield Harness(make=make, calls=calls, stall=stall, timeout=TIMEOUT)
        event.remove(sa.engine.Engine, "before_cursor_execute", counted)
