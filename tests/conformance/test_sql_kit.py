"""The built-in `sql` connector passes the conformance kit on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
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


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """A database holding the kit's dataset: its URL, and the schema the tables are in."""
    name = f"onepane_kit_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}"
        asyncio.run(load_sql(url))
        yield url, None
        return
    if request.param == "postgresql":
        require_service("127.0.0.1", 5432, "PostgreSQL")
        asyncio.run(_admin(PG_ADMIN, f"CREATE SCHEMA {name}"))
        try:
            asyncio.run(load_sql(PG_ADMIN, name))
            yield PG_ADMIN, name
        finally:
            asyncio.run(_admin(PG_ADMIN, f"DROP SCHEMA {name} CASCADE"))
        return
    require_service("127.0.0.1", 3306, "MariaDB")
    asyncio.run(_admin(MARIA_ADMIN, f"CREATE DATABASE {name}"))
    url = f"mysql+aiomysql://root@127.0.0.1:3306/{name}"
    try:
        asyncio.run(load_sql(url))
        yield url, None
    finally:
        asyncio.run(_admin(MARIA_ADMIN, f"DROP DATABASE {name}"))


class TestSqlConnector(ConnectorConformance):
    @pytest.fixture
    def conformance_harness(self, database: tuple[str, str | None], tmp_path: Path) -> Iterator[Harness]:
        url, schema = database
        calls = SourceCalls()

        def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):  # not session settings
                calls.hit()

        event.listen(sa.engine.Engine, "before_cursor_execute", counted)
        options = {"url": url, "entities": {
            entity: {"table": f"{schema}.{TABLES[entity]}" if schema else TABLES[entity], **mapping(entity)}
            for entity in TABLES}}

        def make() -> SqlConnector:
            return SqlConnector("kit", SqlConnector.validate_options(options), context(tmp_path))

        yield Harness(make=make, calls=calls)
        event.remove(sa.engine.Engine, "before_cursor_execute", counted)
