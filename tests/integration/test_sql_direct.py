"""PostgreSQL lookups sent straight to asyncpg (connectors/sql/direct.py): the same records as
through SQLAlchemy, the same statements, and the same errors when the connection is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from connectors.sdk import ConnectorContext
from connectors.sql import SqlConnector
from federation.errors import SourceUnavailable
from federation.model import builtin_model
from tests.integration.test_sql_connector import PG_ADMIN, LegacyDb, create_legacy, drop_legacy, make
from tests.integration.test_sql_recovery import TcpProxy, _admin, _clean

LOOKUPS = [
    ("Customer", "id", ["C0001", "C0002", "C0003", "nobody"]),
    ("Customer", "key:email", ["ann.lee@example.com", " Cara@Example.com ", "none@example.com"]),
    ("Customer", "key:loyaltyNumber", ["AB123", "ef-789"]),
    ("Customer", "key:phone", ["+442079460958", "020 7946 0958"]),
    ("Purchase", "id", ["1:1001", "2:1001", "9:9999", "bad", "1:x"]),
    ("Purchase", "ref:customer", ["C0001", "C0003", "nobody"]),
    ("Product", "id", [str(i) for i in range(1, 40)]),
    ("Product", "key:sku", [f"SK{i:05d}" for i in range(1, 1201)]),  # more than one statement's worth
]


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory,
       require_service: Callable[[str, int, str], None]) -> Any:
    require_service("127.0.0.1", 5432, "postgresql")
    db = create_legacy("postgresql", tmp_path_factory.mktemp("direct"))
    yield db
    drop_legacy(db)


@pytest.fixture
async def connector(pg: LegacyDb) -> AsyncIterator[SqlConnector]:
    sql = make(pg)
    await sql.open()
    yield sql
    await sql.close()


async def test_direct_lookups_answer_what_sqlalchemy_answers(connector: SqlConnector) -> None:
    direct = connector._direct
    assert direct is not None
    engine = connector._require_engine().sync_engine
    event.listen(engine, "before_cursor_execute", _ignore)  # a listener: lookups through SQLAlchemy
    try:
        through_sqlalchemy = [sorted(await connector.lookup(entity, by, values), key=repr)
                              for entity, by, values in LOOKUPS]
    finally:
        event.remove(engine, "before_cursor_execute", _ignore)
    assert direct.sent == 0
    straight = [sorted(await connector.lookup(entity, by, values), key=repr) for entity, by, values in LOOKUPS]
    assert direct.sent >= len(LOOKUPS) + 2  # every one went straight to asyncpg; the skus in 3 statements
    # Records equal field for field, the legacy data's field errors included.
    assert straight == through_sqlalchemy
    assert all(straight[:2]) and len(straight[-1]) == 1200


def _ignore(*_: Any) -> None:
    pass


async def test_statement_listeners_see_every_lookup(connector: SqlConnector) -> None:
    """A tracer or a test listening to SQLAlchemy's statement events sees the lookups: they go
    through SQLAlchemy's execution while it listens."""
    await connector.lookup("Product", "id", ["1"])
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = connector._require_engine().sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(await connector.lookup("Product", "id", ["1", "2"])) == 2
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == 1
    sent = connector._direct.sent if connector._direct is not None else 0
    assert len(await connector.lookup("Product", "id", ["1", "2"])) == 2
    assert connector._direct is not None and connector._direct.sent == sent + 1


def _slow(tmp_path: Path, port: int, mark: str, seconds: float) -> SqlConnector:
    select = f"SELECT 1 AS \"SKU_ID\", '{mark}' AS \"DESCR\" FROM pg_sleep({seconds})"
    options = SqlConnector.validate_options({
        "url": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", "statement_timeout": 2.0,
        "entities": {"Product": {"select": select, "id": "SKU_ID", "fields": {"name": "DESCR"}}}})
    return SqlConnector("pos", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))


async def test_direct_lookup_killed_mid_statement_then_recovers(pg: LegacyDb, tmp_path: Path) -> None:
    mark = f"onepane_direct_{uuid.uuid4().hex[:8]}"
    connector = _slow(tmp_path, 5432, mark, 0.6)
    try:
        assert len(await connector.lookup("Product", "id", ["1"])) == 1  # through SQLAlchemy: types learnt
        sent = connector._direct.sent if connector._direct is not None else 0
        running = asyncio.create_task(connector.lookup("Product", "id", ["1"]))
        ids: list[Any] = []
        for _ in range(50):
            await asyncio.sleep(0.02)
            ids = await _admin(PG_ADMIN, f"SELECT pid FROM pg_stat_activity WHERE query LIKE '%{mark}%' "
                                         "AND query NOT LIKE '%WHERE false%' AND pid <> pg_backend_pid()")
            if ids:
                break
        assert ids, "the lookup never showed up"
        for pid in ids:
            await _admin(PG_ADMIN, f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(SourceUnavailable) as caught:
            await running
        _clean(caught.value)
        assert connector._direct is not None and connector._direct.sent == sent + 1
        assert len(await connector.lookup("Product", "id", ["1"])) == 1  # the pool replaced the dead connection
    finally:
        await connector.close()


async def test_direct_lookup_database_gone_and_back(pg: LegacyDb, tmp_path: Path) -> None:
    proxy = TcpProxy(5432)
    await proxy.start()
    connector = _slow(tmp_path, proxy.port, "gone", 0)
    try:
        assert len(await connector.lookup("Product", "id", ["1"])) == 1
        assert len(await connector.lookup("Product", "id", ["1"])) == 1  # straight to asyncpg
        await proxy.stop()
        with pytest.raises(SourceUnavailable) as caught:
            await connector.lookup("Product", "id", ["1"])
        _clean(caught.value)
        await proxy.start()  # same port: the database is back
        assert len(await connector.lookup("Product", "id", ["1"])) == 1
    finally:
        await connector.close()
        if proxy._server is not None:
            await proxy.stop()


async def test_a_kept_connection_serves_the_next_lookup_unless_the_server_ended_it(connector: SqlConnector) -> None:
    """A lookup's connection is kept for the next one (no pool checkout per statement); one the
    server ended while it was kept is not reused (the lookup answers on a fresh one); close hands
    every kept connection back to the pool."""
    pool = connector._require_engine().sync_engine.pool
    assert len(await connector.lookup("Product", "id", ["1"])) == 1  # through SQLAlchemy: types learnt
    assert len(await connector.lookup("Product", "id", ["1"])) == 1  # straight to asyncpg, then kept
    direct = connector._direct
    assert direct is not None and len(direct._idle) == 1 and pool.checkedout() == 1
    kept = direct._idle[0][0].driver_connection
    assert len(await connector.lookup("Product", "id", ["2"])) == 1
    assert len(direct._idle) == 1 and direct._idle[0][0].driver_connection is kept and pool.checkedout() == 1
    await _admin(PG_ADMIN, f"SELECT pg_terminate_backend({int(kept.get_server_pid())})")
    for _ in range(100):  # the server's goodbye reaches the kept connection while it waits
        if kept.is_closed():
            break
        await asyncio.sleep(0.02)
    assert kept.is_closed()
    assert len(await connector.lookup("Product", "id", ["3"])) == 1  # no error: a fresh connection
    assert direct._idle[0][0].driver_connection is not kept
    await connector.close()
    assert pool.checkedout() == 0


async def test_a_lookup_waiting_for_the_pool_gets_the_next_connection_that_ends(connector: SqlConnector) -> None:
    """With every connection of the pool out, a lookup waits in the pool; the next connection whose
    lookup ends goes back to the pool for it instead of being kept. (Kept, it starved such waiters
    past the statement timeout under load: SOURCE_TIMEOUT in 10 of ~55,000 c360 answers.)"""
    direct = connector._direct
    assert direct is not None
    pool = connector._require_engine().sync_engine.pool
    held = [await direct.checkout() for _ in range(pool.size())]  # the pool's whole capacity
    waiter = asyncio.ensure_future(direct.checkout())
    for _ in range(100):
        if direct._waiting:
            break
        await asyncio.sleep(0.01)
    assert direct._waiting == 1 and not waiter.done()

    async def one_statement(fetch: Any) -> None:
        pass

    await direct.run(held.pop(), one_statement)  # its lookup ends: not kept, the waiter's now
    got = await asyncio.wait_for(waiter, 5)
    assert direct._idle == [] and got is not None
    for fairy in [*held, got]:
        fairy.close()
