"""A SQLite source is opened read-only: a missing file is SOURCE_UNAVAILABLE, never a new empty
database, and the source recovers by itself once the file is back (issue 18, files and locks)."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from connectors.sdk import ConnectorContext, SearchRequest
from connectors.sql import SqlConnector
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.errors import SourceError, SourceUnavailable
from federation.model import builtin_model
from federation.server import create_app
from tests.conftest import serve_app


def _make_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE PRODUCT (SKU_ID TEXT PRIMARY KEY, DESCR TEXT)")
        db.execute("INSERT INTO PRODUCT VALUES ('S-1', 'Kettle')")


def _connector(folder: Path, timeout: float = 2.0) -> SqlConnector:
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///pos.db", "statement_timeout": timeout,
                                             "entities": {"Product": {"table": "PRODUCT", "id": "SKU_ID",
                                                                      "fields": {"name": "DESCR"}}}})
    return SqlConnector("pos", options, ConnectorContext(model=builtin_model(), base_dir=folder))


async def test_a_missing_file_is_unavailable_and_never_created(tmp_path: Path) -> None:
    connector = _connector(tmp_path)
    try:
        with pytest.raises(SourceUnavailable):
            await connector.search("Product", SearchRequest())
        assert not (tmp_path / "pos.db").exists()
        _make_db(tmp_path / "pos.db")  # the file comes back: the next call works, no restart
        records = await connector.search("Product", SearchRequest())
        assert [r.fields["name"] for r in records] == ["Kettle"]
    finally:
        await connector.close()


async def test_the_source_never_writes(tmp_path: Path) -> None:
    _make_db(tmp_path / "pos.db")
    before = (tmp_path / "pos.db").read_bytes()
    connector = _connector(tmp_path)
    try:
        await connector.search("Product", SearchRequest())
    finally:
        await connector.close()
    assert (tmp_path / "pos.db").read_bytes() == before
    assert not (tmp_path / "pos.db-journal").exists() and not (tmp_path / "pos.db-wal").exists()


async def test_a_locked_file_answers_within_the_source_timeout(tmp_path: Path) -> None:
    _make_db(tmp_path / "pos.db")
    holder = sqlite3.connect(tmp_path / "pos.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    connector = _connector(tmp_path, timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError):
            await connector.search("Product", SearchRequest())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await connector.close()
    assert time.monotonic() - started < 2.5


async def test_calls_cancelled_while_sqlite_waits_on_a_lock_leave_no_task_thread_or_connection(
        tmp_path: Path) -> None:
    """The caller's deadline equal to SQLite's busy wait: a cancellation that landed inside
    aiosqlite left SQLAlchemy's close of the connection pending for ever (the loop's teardown hung
    in CI). Each caller gets its timeout at once, and closing leaves nothing running."""
    _make_db(tmp_path / "pos.db")
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(str(context.get("message"))))
    holder = sqlite3.connect(tmp_path / "pos.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    connector = _connector(tmp_path, timeout=0.3)

    async def one(delay: float) -> str:
        await asyncio.sleep(delay)
        try:
            async with asyncio.timeout(0.3):  # the guard's source timeout, equal to SQLite's busy wait
                await connector.search("Product", SearchRequest())
        except SourceError as exc:
            return exc.code
        except TimeoutError:
            return "SOURCE_TIMEOUT"  # the guard words it so
        return "answered"

    try:
        started = time.monotonic()
        answers = await asyncio.gather(*(one(i * 0.011) for i in range(40)))
        assert time.monotonic() - started < 2.0
        assert set(answers) <= {"SOURCE_TIMEOUT", "SOURCE_UNAVAILABLE"}, answers
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [r.fields["name"] for r in await connector.search("Product", SearchRequest())] == ["Kettle"]
    await asyncio.wait_for(connector.close(), 5)
    await asyncio.sleep(0.1)
    gc.collect()
    loop.set_exception_handler(None)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert reported == []  # e.g. "Task was destroyed but it is pending!"
    assert not [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def test_a_file_moved_away_under_load_is_unavailable_then_recovers_and_a_replacement_is_read(
        tmp_path: Path) -> None:
    """The pool's connections hold the file they opened: moved away, it must not keep being read
    through them; put back or replaced, the path's file is what answers, without a restart."""
    _make_db(tmp_path / "pos.db")
    connector = _connector(tmp_path)

    async def names() -> list[list[str] | str]:
        async def one() -> list[str] | str:
            try:
                return [r.fields["name"] for r in await connector.search("Product", SearchRequest())]
            except SourceUnavailable as exc:
                return exc.code
        return list(await asyncio.gather(*(one() for _ in range(6))))  # several pooled connections

    try:
        assert await names() == [["Kettle"]] * 6
        (tmp_path / "pos.db").rename(tmp_path / "moved.db")
        assert await names() == ["SOURCE_UNAVAILABLE"] * 6
        assert not (await connector.ready()).ok
        assert not (tmp_path / "pos.db").exists()
        (tmp_path / "moved.db").rename(tmp_path / "pos.db")
        assert await names() == [["Kettle"]] * 6 and (await connector.ready()).ok
        (tmp_path / "pos.db").rename(tmp_path / "old.db")  # a new copy of the file replaces it
        with sqlite3.connect(tmp_path / "pos.db") as db:
            db.execute("CREATE TABLE PRODUCT (SKU_ID TEXT PRIMARY KEY, DESCR TEXT)")
            db.execute("INSERT INTO PRODUCT VALUES ('S-1', 'Kettle, restocked')")
        assert await names() == [["Kettle, restocked"]] * 6
    finally:
        await connector.close()


async def test_readyz_follows_the_file_within_the_health_interval(tmp_path: Path) -> None:
    _make_db(tmp_path / "pos.db")
    config = {"sources": {"pos": {"type": "sql", "url": "sqlite+aiosqlite:///pos.db", "health_interval": 1,
                                  "entities": {"Product": {"table": "PRODUCT", "id": "SKU_ID",
                                                           "fields": {"name": "DESCR"}}}}}}
    (tmp_path / "onepane.yaml").write_text(yaml.safe_dump(config))
    gateway = Gateway.from_config(load_config(tmp_path / "onepane.yaml", {}))

    async def status(session: aiohttp.ClientSession, url: str) -> int:
        async with session.get(url + "/readyz") as response:
            return response.status

    async def settles(session: aiohttp.ClientSession, url: str, wanted: int) -> float:
        started = time.monotonic()
        while await status(session, url) != wanted:
            assert time.monotonic() - started < 3, f"/readyz not {wanted} within the health interval"
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    async with serve_app(create_app(gateway)) as url, aiohttp.ClientSession() as session:
        assert await status(session, url) == 200
        (tmp_path / "pos.db").rename(tmp_path / "moved.db")
        await settles(session, url, 503)
        (tmp_path / "moved.db").rename(tmp_path / "pos.db")
        await settles(session, url, 200)


async def test_a_locked_file_costs_a_request_the_source_timeout_not_the_request_deadline(tmp_path: Path) -> None:
    """Issue 18: a locked SQLite file made every request wait the whole request deadline (5 s)."""
    _make_db(tmp_path / "pos.db")
    # The source timeout equal to SQLite's own busy wait (statement_timeout): the guard's cancellation
    # once landed inside aiosqlite's call and left a task the loop's teardown waited on for ever.
    config = {"gateway": {"request_timeout": 5},
              "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
              "sources": {"pos": {"type": "sql", "url": "sqlite+aiosqlite:///pos.db", "timeout": 1,
                                  "statement_timeout": 1, "guard": {"retries": 0},
                                  "entities": {"Customer": {"table": "PRODUCT", "id": "SKU_ID",
                                                            "fields": {"name": "DESCR"}}}}}}
    (tmp_path / "onepane.yaml").write_text(yaml.safe_dump(config))
    gateway = Gateway.from_config(load_config(tmp_path / "onepane.yaml", {}))
    holder = sqlite3.connect(tmp_path / "pos.db", isolation_level=None)
    try:
        async with serve_app(create_app(gateway)) as url, aiohttp.ClientSession() as session:
            holder.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            query = {"query": '{ customer(id: "pos:S-1") { name } }'}
            async with session.post(url + "/graphql", json=query) as response:
                body = await response.json()
            elapsed = time.monotonic() - started
            holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert elapsed < 2.5, (elapsed, body)
    assert body["extensions"]["sources"]["pos"]["ok"] is False
    assert [e["extensions"]["source"] for e in body["errors"]] == ["pos"]
    assert body["errors"][0]["extensions"]["code"] in ("SOURCE_TIMEOUT", "SOURCE_UNAVAILABLE")
