"""purchaseStats pushed down to a SQL source whose purchases never merge: one GROUP BY statement,
the same answer as the engine path, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sql import SqlConnector
from federation.api import stats
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app
from tests.integration.test_sql_connector import MARIA_ADMIN, PG_ADMIN, SERVICES, _admin

STATS = """query($by: PurchaseGroupBy!, $top: Int, $filter: PurchaseFilter) {
  purchaseStats(groupBy: $by, top: $top, filter: $filter) {
    purchases truncated groups { key label count totals { amount currency } }
  }
}"""

# id, channel code, sold at (naive, UTC), pence, store, card
SALES = [
    (1, "W", datetime(2024, 3, 1, 9, 15), 1250, "S1", "4417"),
    (2, "w ", datetime(2024, 3, 1, 23, 59), 999, "S1", "1111"),
    (3, "S", datetime(2024, 3, 2, 0, 0), 5000, "S2", "4417"),
    (4, "S", datetime(2024, 3, 2, 12, 30), 5000, "S2", None),
    (5, "P", datetime(2024, 3, 3, 8, 0), 120, None, "2222"),
    (6, "X", datetime(2024, 3, 3, 18, 45), 70000, "S9", "4417"),
    (7, None, None, 300, "S1", None),
    (8, "S", datetime(2024, 3, 4, 10, 0), None, "S2", "3333"),
]
STORES = [("S1", "LEEDS"), ("S2", "YORK")]
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"placedFrom": "2024-03-01T12:00:00Z", "placedTo": "2024-03-03T09:00:00Z"},
    {"placedFrom": "2024-03-02T00:00:00Z"},
    {"amount": "50.00"},
    {"channel": "STORE"},
    {"cardLast4": "4417"},
    {"source": "till"},
    {"source": "shop"},
]
GROUPS = ["CHANNEL", "SOURCE", "DAY", "STORE"]


@dataclass(frozen=True)
class Tills:
    backend: str
    url: str
    schema: str | None
    folder: Path


def _tables(schema: str | None) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData(schema=schema)
    sales = sa.Table("till_sales", meta, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("channel_cd", sa.String(4)), sa.Column("sold_at", sa.DateTime),
                     sa.Column("amount_pence", sa.Integer), sa.Column("store_no", sa.String(8)),
                     sa.Column("card", sa.String(4)))
    stores = sa.Table("till_stores", meta, sa.Column("store_no", sa.String(8), primary_key=True),
                      sa.Column("name", sa.String(30)))
    return meta, sales, stores


async def _fill(url: str, schema: str | None) -> None:
    engine = create_async_engine(url)
    meta, sales, stores = _tables(schema)
    names = [c.name for c in sales.columns]
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(sales.insert(), [dict(zip(names, row, strict=True)) for row in SALES])
        await conn.execute(stores.insert(), [{"store_no": s, "name": n} for s, n in STORES])
    await engine.dispose()


async def _shop(path: Path) -> None:
    """A web shop whose two rows share order number A-1: the engine merges them into one purchase."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE orders (id TEXT PRIMARY KEY, order_no TEXT, placed_at TEXT,"
                                   " total TEXT, channel TEXT)"))
        await conn.execute(sa.text("INSERT INTO orders VALUES ('o1', 'A-1', '2024-03-01T10:00:00', '20.00', 'WEB'),"
                                   " ('o2', 'a1', '2024-03-01T10:00:00', '20.00', 'WEB'),"
                                   " ('o3', 'B-2', '2024-03-02T11:00:00', '5.50', 'PHONE')"))
    await engine.dispose()


@pytest.fixture(scope="module", params=list(SERVICES))
def tills(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          require_service: Callable[[str, int, str], None]) -> Iterator[Tills]:
    backend = request.param
    service = SERVICES[backend]
    if service is not None:
        require_service(*service, backend)
    folder = tmp_path_factory.mktemp(f"stats-{backend}")
    asyncio.run(_shop(folder / "shop.db"))
    token = f"onepane_s_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        db = Tills(backend, "sqlite+aiosqlite:///tills.db", None, folder)
        asyncio.run(_fill(f"sqlite+aiosqlite:///{folder / 'tills.db'}", None))
    elif backend == "postgresql":
        asyncio.run(_admin(PG_ADMIN, f"CREATE SCHEMA {token}"))
        db = Tills(backend, PG_ADMIN, token, folder)
        asyncio.run(_fill(PG_ADMIN, token))
    else:
        asyncio.run(_admin(MARIA_ADMIN, f"CREATE DATABASE {token}"))
        db = Tills(backend, f"mysql+aiomysql://root@127.0.0.1:3306/{token}", token, folder)
        asyncio.run(_fill(db.url, None))
    yield db
    if backend == "postgresql":
        asyncio.run(_admin(PG_ADMIN, f"DROP SCHEMA {token} CASCADE"))
    elif backend == "mariadb":
        asyncio.run(_admin(MARIA_ADMIN, f"DROP DATABASE {token}"))


def config_text(db: Tills, select: str | None = None, rows: int | None = None) -> str:
    prefix = f"{db.schema}." if db.backend == "postgresql" else ""
    # SQLite has no timestamp type: the column holds ISO text the connector parses.
    placed = {"column": "sold_at", "transform": [{"datetime": "ISO"}]} if db.backend == "sqlite" else "sold_at"
    origin = {"select": select} if select else {"table": f"{prefix}till_sales"}
    config: dict[str, Any] = {
        "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
        "sources": {
            "till": {"type": "sql", "url": db.url, "entities": {
                "Purchase": {**origin, "id": "id", "fields": {
                    "channel": {"column": "channel_cd", "transform": [{"enum": {"W": "WEB", "S": "STORE",
                                                                                "P": "PHONE"}}]},
                    "placedAt": placed, "total": {"column": "amount_pence", "transform": [{"money_minor": "GBP"}]}},
                    "keys": {"cardLast4": "card"}, "refs": {"store": "store_no"}},
                "Store": {"table": f"{prefix}till_stores", "id": "store_no", "fields": {"name": "name"}},
            }},
            "shop": {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "entities": {
                "Purchase": {"table": "orders", "id": "id", "fields": {
                    "orderNumber": "order_no", "channel": "channel",
                    "placedAt": {"column": "placed_at", "transform": [{"datetime": "ISO"}]},
                    "total": {"column": "total", "transform": [{"money": "GBP"}]}},
                    "keys": {"orderNumber": "order_no"}},
            }},
        },
    }
    if rows is not None:
        config["gateway"] = {"max_search_rows": rows}
    return yaml.safe_dump(config)


@asynccontextmanager
async def served(db: Tills, select: str | None = None,
                 rows: int | None = None) -> AsyncIterator[tuple[str, list[str]]]:
    """The gateway on loopback, and the statements the till source runs (appended as they run)."""
    path = db.folder / f"onepane-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(config_text(db, select, rows), "utf-8")
    gateway = Gateway.from_config(load_config(path, {}))
    till = gateway.connectors["till"]
    assert isinstance(till, SqlConnector)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = till._require_engine()
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with serve_app(create_app(gateway)) as url:
            yield url + "/graphql", statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)


async def ask(url: str, by: str, flt: dict[str, Any] | None = None, top: int | None = None) -> dict[str, Any]:
    body = orjson.dumps({"query": STATS, "variables": {"by": by, "top": top, "filter": flt}})
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        answer: dict[str, Any] = orjson.loads(await response.read())
    assert answer.get("errors") is None, answer.get("errors")
    return answer


def grouped(statements: list[str]) -> list[str]:
    """The aggregate statements (SOURCE has one group: a plain aggregate without GROUP BY)."""
    return [s for s in statements if "onepane_count" in s]


def searched(statements: list[str]) -> list[str]:
    """Statements reading the sales rows themselves (a search), not an aggregate or a store lookup."""
    probe = ("WHERE false", "WHERE false = 1", "WHERE 0 = 1")  # the one-off column-type probe
    return [s for s in statements if "till_sales" in s and "onepane_count" not in s and not s.endswith(probe)]


@pytest.mark.parametrize("by", GROUPS)
async def test_pushed_down_equals_the_engine_path(tills: Tills, by: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served(tills) as (url, statements):
        for flt in FILTERS:
            for top in (None, 1):
                statements.clear()
                pushed = await ask(url, by, flt, top)
                in_scope = flt is None or flt.get("source") != "shop"
                assert len(grouped(statements)) == (1 if in_scope else 0), (by, flt, statements)
                assert searched(statements) == [], (by, flt, statements)
                with monkeypatch.context() as patch:
                    patch.setattr(stats, "pushable", lambda *_args: False)
                    statements.clear()
                    engine = await ask(url, by, flt, top)
                    assert grouped(statements) == []
                assert pushed["data"] == engine["data"], (by, flt, top)
                if in_scope:
                    assert pushed["extensions"]["sources"]["till"]["calls"] >= 1


async def test_every_purchase_counted_once(tills: Tills) -> None:
    async with served(tills) as (url, _):
        answer = (await ask(url, "SOURCE"))["data"]["purchaseStats"]
    groups = {g["key"]: g for g in answer["groups"]}
    assert answer["purchases"] == 10 and answer["truncated"] is False
    assert groups["till"]["count"] == 8 and groups["shop"]["count"] == 2  # shop's A-1 and a1 are one order
    assert groups["till"]["totals"] == [{"amount": "826.69", "currency": "GBP"}]


async def test_days_and_stores_from_the_source(tills: Tills) -> None:
    async with served(tills) as (url, _):
        days = (await ask(url, "DAY", {"source": "till"}))["data"]["purchaseStats"]["groups"]
        stores = (await ask(url, "STORE", {"source": "till"}))["data"]["purchaseStats"]["groups"]
    assert [(g["key"], g["count"]) for g in days] == [
        ("2024-03-01", 2), ("2024-03-02", 2), ("2024-03-03", 2), ("2024-03-04", 1), ("unknown", 1)]
    assert {g["key"]: (g["label"], g["count"]) for g in stores} == {
        "till:S1": ("LEEDS", 3), "till:S2": ("YORK", 3), "none": (None, 2)}  # S9 is no store


async def test_repeated_ids_fall_back_to_searching(tills: Tills, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"{tills.schema}." if tills.backend == "postgresql" else ""
    select = f"SELECT * FROM {prefix}till_sales UNION ALL SELECT * FROM {prefix}till_sales WHERE id = 1"
    async with served(tills, select) as (url, statements):
        pushed = await ask(url, "CHANNEL")
        assert len(grouped(statements)) == 1 and len(searched(statements)) == 1  # the aggregate said no
        with monkeypatch.context() as patch:
            patch.setattr(stats, "pushable", lambda *_args: False)
            engine = await ask(url, "CHANNEL")
    assert pushed["data"] == engine["data"]
    assert pushed["data"]["purchaseStats"]["purchases"] == 10


@pytest.mark.parametrize(("rows", "truncated"), [(9, False), (8, True)])
async def test_truncated_means_a_search_hit_its_row_cap(tills: Tills, rows: int, truncated: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The till's 8 sales under a cap of 9 are all of them, though the stores looked up make 10
    records from that source; under a cap of 8 the till may hold more than it returned."""
    monkeypatch.setattr(stats, "pushable", lambda *_args: False)
    async with served(tills, rows=rows) as (url, _):
        answer = (await ask(url, "STORE", {"source": "till"}))["data"]["purchaseStats"]
    assert answer["purchases"] == 8 and answer["truncated"] is truncated


PAGE = """query($filter: PurchaseFilter) { purchases(filter: $filter, first: 100) { nodes { id placedAt } } }"""


async def _page(url: str, flt: dict[str, Any] | None) -> list[str]:
    body = orjson.dumps({"query": PAGE, "variables": {"filter": flt}})
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers={"Content-Type": "application/json"}) as response:
        answer: dict[str, Any] = orjson.loads(await response.read())
    assert answer.get("errors") is None, answer.get("errors")
    return [node["id"] for node in answer["data"]["purchases"]["nodes"] if node["placedAt"] is not None]


async def test_paging_a_day_at_a_time_finds_each_purchase_exactly_once(tills: Tills) -> None:
    """Ranges are half-open [placedFrom, placedTo): sale 3 at exactly 2024-03-02 00:00 is in one page only."""
    async with served(tills) as (url, _):
        every = await _page(url, None)
        pages = [await _page(url, {"placedFrom": f"2024-{month:02d}-{day:02d}T00:00:00Z",
                                   "placedTo": f"2024-{next_month:02d}-{next_day:02d}T00:00:00Z"})
                 for month, day, next_month, next_day in [(2, 28, 2, 29), (2, 29, 3, 1), (3, 1, 3, 2), (3, 2, 3, 3),
                                                          (3, 3, 3, 4), (3, 4, 3, 5), (3, 5, 3, 6)]]
    seen = [ident for page in pages for ident in page]
    assert sorted(seen) == sorted(every)
    assert len(seen) == len(set(seen))
    assert "till:3" in pages[3] and "till:3" not in pages[2]
