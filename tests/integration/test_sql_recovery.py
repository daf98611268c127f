"""The database goes away mid-use and comes back: a clean SourceUnavailable, then recovery."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sdk import ConnectorContext, SearchRequest
from connectors.sql import SqlConnector
from federation.errors import SourceUnavailable
from federation.model import builtin_model
from tests.integration.test_sql_connector import MARIA_ADMIN, PG_ADMIN

SECRETS = ("SELECT", "127.0.0.1", "postgres@", "root@", "pg_sleep", "SLEEP")


class TcpProxy:
    """A loopback TCP relay that can be stopped (dropping every connection) and started again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


BACKENDS = {
    "postgresql": (5432, "postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", PG_ADMIN),
    "mariadb": (3306, "mysql+aiomysql://root@127.0.0.1:{port}/mysql", MARIA_ADMIN),
}


def _connector(url: str, select: str, tmp_path: Path) -> SqlConnector:
    options = SqlConnector.validate_options({"url": url, "statement_timeout": 2.0, "entities": {
        "Product": {"select": select, "id": "SKU_ID", "fields": {"name": "DESCR"}}}})
    return SqlConnector("pos", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))


def _clean(error: BaseException) -> None:
    text = str(error)
    assert text.startswith("source 'pos': database ")
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, require_service: Callable[[str, int, str], None]) -> str:
    require_service("127.0.0.1", BACKENDS[request.param][0], request.param)
    return str(request.param)


@pytest.fixture
async def proxy(backend: str) -> AsyncIterator[TcpProxy]:
    relay = TcpProxy(BACKENDS[backend][0])
    await relay.start()
    yield relay
    if relay._server is not None:
        await relay.stop()


async def test_database_gone_and_back_through_a_proxy(backend: str, proxy: TcpProxy, tmp_path: Path) -> None:
    url = BACKENDS[backend][1].format(port=proxy.port)
    quote = '"' if backend == "postgresql" else "`"
    connector = _connector(url, f"SELECT 1 AS {quote}SKU_ID{quote}, 'one' AS {quote}DESCR{quote}", tmp_path)
    try:
        assert len(await connector.search("Product", SearchRequest())) == 1
        await proxy.stop()
        with pytest.raises(SourceUnavailable) as caught:
            await connector.search("Product", SearchRequest())
        _clean(caught.value)
        assert not (await connector.health()).ok
        await proxy.start()  # same port: the database is back
        assert len(await connector.search("Product", SearchRequest())) == 1
        assert (await connector.health()).ok
    finally:
        await connector.close()


async def _admin(url: str, statement: str) -> list[Any]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text(statement))
            return list(result.scalars()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_connection_killed_mid_query_then_recovers(backend: str, tmp_path: Path) -> None:
    _port, url_template, admin = BACKENDS[backend]
    mark = f"onepane_kill_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        slow = f"SELECT 1 AS \"SKU_ID\", '{mark}' AS \"DESCR\" FROM pg_sleep(1.5)"
        find = (f"SELECT pid FROM pg_stat_activity WHERE query LIKE '%{mark}%' "
                f"AND pid <> pg_backend_pid()")
        kill = "SELECT pg_terminate_backend({})"
    else:
        slow = f"SELECT 1 AS SKU_ID, '{mark}' AS DESCR FROM (SELECT SLEEP(1.5) AS z) w"
        find = (f"SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{mark}%' "
                f"AND ID <> CONNECTION_ID()")
        kill = "KILL {}"
    connector = _connector(url_template.format(port=_port), slow, tmp_path)
    try:
        running = asyncio.create_task(connector.search("Product", SearchRequest()))
        ids: list[Any] = []
        for _ in range(50):
            await asyncio.sleep(0.05)
            ids = await _admin(admin, find)
            if ids:
                break
        assert ids, "the connector's query never showed up"
        for pid in ids:
            await _admin(admin, kill.format(int(pid)))
        with pytest.raises(SourceUnavailable) as caught:
            await running
        _clean(caught.value)
        assert (await connector.health()).ok  # the pool replaced the dead connection
    finally:
        await connector.close()
