"""The demo's real sources behind fault injectors, and the gateway in front, all on loopback."""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from federation.config import load_config
from federation.demo.crm import serve_crm
from federation.demo.data import DemoFiles, build_demo
from federation.demo.run import demo_config_text
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import require_service
from tests.faults.proxy import FaultProxy
from tests.faults.stubs import flaky_http

ANN = """query {
  customers(email: "ann.lee@example.com") {
    id name
    sourceRecords { source localId stale ageSeconds }
    purchases { orderNumber }
    cases { subject }
  }
}"""
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Stack:
    """The gateway's URL, the proxies in front of its sources, and a client."""

    url: str
    gateway: Gateway
    crm: FaultProxy
    shop: FaultProxy | None
    http: aiohttp.ClientSession
    crm_stub: web.AppRunner | None = None

    async def post(self, query: str = ANN) -> tuple[dict[str, Any], float]:
        """The decoded body and how long it took."""
        started = time.perf_counter()
        async with self.http.post(self.url, json={"query": query}) as resp:
            assert resp.status == 200
            body: dict[str, Any] = await resp.json()
        return body, time.perf_counter() - started

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.url.replace("/graphql", path)) as resp:
            return resp.status, await resp.json()

    async def get_text(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.url.replace("/graphql", path)) as resp:
            return resp.status, await resp.text()


def codes(body: dict[str, Any]) -> dict[str, str]:
    """Source → error code, from the response's errors."""
    return {e["extensions"]["source"]: e["extensions"]["code"] for e in body.get("errors") or []
            if "source" in e.get("extensions", {})}


def refs(body: dict[str, Any]) -> set[str]:
    (ann,) = body["data"]["customers"]
    return {f"{r['source']}:{r['localId']}" for r in ann["sourceRecords"]}


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return build_demo(tmp_path_factory.mktemp("faults-demo"))


async def copy_shop_to_postgres(shop: Path) -> str:
    """A fresh PostgreSQL database holding the demo shop's tables and rows; its name."""
    import asyncpg

    name = f"onepane_faults_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    lite = sqlite3.connect(shop)
    db = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        ddl = "SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND sql IS NOT NULL"
        for (sql,) in lite.execute(ddl):
            await db.execute(sql)
        for (table,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cursor = lite.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            types = {r[1]: r[2] for r in lite.execute(f"PRAGMA table_info({table})")}
            rows = [tuple(Decimal(str(v)) if v is not None and types[c].startswith("NUMERIC") else v
                          for c, v in zip(columns, row, strict=True)) for row in cursor]
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            await db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    finally:
        await db.close()
        lite.close()
    return name


async def drop_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def stack_factory(demo_files: DemoFiles, tmp_path: Path) -> AsyncIterator[Any]:
    """`await make(crm={...}, shop_on_postgres=False, crm_503=0.0)` → a running `Stack`."""
    cleanups: list[Any] = []

    async def make(crm: dict[str, Any] | None = None, shop: dict[str, Any] | None = None,
                   gateway: dict[str, Any] | None = None, shop_on_postgres: bool = False,
                   crm_503: float = 0.0) -> Stack:
        api_key = secrets.token_urlsafe(12)
        crm_runner, crm_port = await serve_crm(demo_files.crm, api_key)
        cleanups.append(crm_runner.cleanup)
        stub = None
        if crm_503:
            stub, stub_url = await flaky_http(f"http://127.0.0.1:{crm_port}", crm_503)
            cleanups.append(stub.cleanup)
            crm_port = int(stub_url.rsplit(":", 1)[1])
        crm_proxy = FaultProxy("127.0.0.1", crm_port)
        await crm_proxy.up()
        cleanups.append(crm_proxy.down)
        data = yaml.safe_load(demo_config_text())
        for name in ("shop", "pos", "delivery"):
            data["sources"][name]["url"] = data["sources"][name]["url"].replace(
                "///", f"///{demo_files.folder.as_posix()}/")
        data["gateway"].update({"request_timeout": 5, **(gateway or {})})
        data["sources"]["crm"].update({"timeout": 0.5, **(crm or {})})
        data["sources"]["shop"].update(shop or {})
        shop_proxy = None
        if shop_on_postgres:
            require_service("127.0.0.1", 5432, "PostgreSQL")
            database = await copy_shop_to_postgres(demo_files.shop)
            cleanups.append(lambda: drop_database(database))
            shop_proxy = FaultProxy("127.0.0.1", 5432)
            await shop_proxy.up()
            cleanups.append(shop_proxy.down)
            data["sources"]["shop"]["url"] = f"postgresql+asyncpg://postgres@127.0.0.1:{shop_proxy.port}/{database}"
        config_path = tmp_path / "faults.yaml"
        config_path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
        env = {"ONEPANE_CRM_URL": f"http://127.0.0.1:{crm_proxy.port}", "ONEPANE_CRM_API_KEY": api_key}
        gw = Gateway.from_config(load_config(config_path, env))
        runner = web.AppRunner(create_app(gw), access_log=None)
        await runner.setup()
        cleanups.append(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        cleanups.append(http.close)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
        return Stack(url, gw, crm_proxy, shop_proxy, http, stub)

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()
