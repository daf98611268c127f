"""`/readyz` checks what a lookup reads (each mapped table and column), not `SELECT 1`: a table
dropped under a running gateway makes it 503, naming the source and table without SQL text, and
it is ready again once the table is back (issue 18, files and locks)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app


def _database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE CUST (CUST_NO TEXT PRIMARY KEY, FULL_NM TEXT, EMAIL TEXT)")
        db.execute("INSERT INTO CUST VALUES ('C1', 'Ann Lee', 'ann@example.com')")


def _config(tmp_path: Path, interval: float) -> Path:
    for name in ("pos", "shop"):
        _database(tmp_path / f"{name}.db")
    source = {"type": "sql", "health_interval": interval, "entities": {"Customer": {
        "table": "CUST", "id": "CUST_NO", "fields": {"name": "FULL_NM"}, "keys": {"email": "EMAIL"}}}}
    config = {"sources": {name: {**source, "url": f"sqlite+aiosqlite:///{name}.db"} for name in ("pos", "shop")}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@asynccontextmanager
async def _gateway(config: Path) -> AsyncIterator[str]:
    async with serve_app(create_app(Gateway.from_config(load_config(config, {})))) as url:
        yield url


async def _readyz(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url + "/readyz") as response:
        return response.status, await response.json()


async def test_a_dropped_table_makes_readyz_503_naming_the_source(tmp_path: Path) -> None:
    config = _config(tmp_path, interval=0)
    async with _gateway(config) as url, aiohttp.ClientSession() as session:
        status, body = await _readyz(session, url)
        assert status == 200, body
        with sqlite3.connect(tmp_path / "pos.db") as db:
            db.execute("ALTER TABLE CUST RENAME TO CUST_OLD")
        status, body = await _readyz(session, url)
        assert status == 503, body
        assert body["status"] == "unavailable"
        pos = body["sources"]["pos"]
        assert not pos["ok"] and pos["mappingFault"]
        assert "no table or view 'CUST'" in pos["detail"] and "close matches: CUST_OLD" in pos["detail"]
        assert "SELECT" not in str(body).upper()
        assert body["sources"]["shop"]["ok"]  # the other source still serves; the gateway is not ready
        with sqlite3.connect(tmp_path / "pos.db") as db:
            db.execute("ALTER TABLE CUST_OLD RENAME TO CUST")
        status, body = await _readyz(session, url)
        assert status == 200, body


async def test_a_dropped_column_is_named(tmp_path: Path) -> None:
    config = _config(tmp_path, interval=0)
    async with _gateway(config) as url, aiohttp.ClientSession() as session:
        with sqlite3.connect(tmp_path / "shop.db") as db:
            db.execute("ALTER TABLE CUST DROP COLUMN EMAIL")
        status, body = await _readyz(session, url)
        assert status == 503, body
        assert "keys.email: no column 'EMAIL' in table 'CUST'" in body["sources"]["shop"]["detail"]


async def test_readiness_is_probed_at_most_once_per_health_interval(tmp_path: Path) -> None:
    config = _config(tmp_path, interval=300)
    async with _gateway(config) as url, aiohttp.ClientSession() as session:
        assert (await _readyz(session, url))[0] == 200
        with sqlite3.connect(tmp_path / "pos.db") as db:
            db.execute("DROP TABLE CUST")
        assert (await _readyz(session, url))[0] == 200  # the answer of the last probe, 300 s long
