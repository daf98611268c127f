"""Two systems that each number their own orders: invoice 382 and payment 382 are different
purchases of different customers, until the config says the systems share the numbering.

Real sources: two SQLite files and a PostgreSQL database, each holding an order 382 for a
different customer, served over HTTP by the gateway.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import fresh_postgres, serve_app

# system, customer (id, name, email), order 382's line items
SYSTEMS = {
    "invoices": ((1, "Ann Lee", "ann@example.com"), ["Kettle", "Toaster"]),
    "payments": ((7, "Bob Stone", "bob@example.org"), ["Gift card"]),
    "ledger": ((3, "Cara Diaz", "cara@example.net"), ["Desk lamp"]),
}
SCHEMA = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT, customer_id INTEGER, placed_at TEXT)",
    "CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER, name TEXT)",
]
QUERY = """{ customers(orderNumber: "382") {
  name
  purchases { orderNumber items { name } sourceRecords { source linkedBy } }
} }"""


def rows(system: str) -> list[tuple[str, dict[str, Any]]]:
    (cid, name, email), items = SYSTEMS[system]
    out = [("INSERT INTO customers VALUES (:id, :name, :email)", {"id": cid, "name": name, "email": email}),
           ("INSERT INTO orders VALUES (:id, :no, :customer, :at)",
            {"id": 40 + cid, "no": "382", "customer": cid, "at": "2025-03-01T10:00:00+00:00"})]
    out += [("INSERT INTO order_lines VALUES (:id, :order, :name)", {"id": 100 + i, "order": 40 + cid, "name": item})
            for i, item in enumerate(items)]
    return out


def sqlite_file(folder: Path, system: str) -> str:
    path = folder / f"{system}.db"
    with sqlite3.connect(path) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
        for statement, params in rows(system):
            conn.execute(statement, params)
    return f"sqlite+aiosqlite:///{path}"


async def fill_postgres(url: str) -> None:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as conn:
        for statement in SCHEMA:
            await conn.execute(sa.text(statement))
        for statement, params in rows("ledger"):
            await conn.execute(sa.text(statement), params)
    await engine.dispose()


def source(url: str) -> dict[str, Any]:
    return {"type": "sql", "url": url, "entities": {
        "Customer": {"table": "customers", "id": "id", "fields": {"name": "name", "emails": "email"},
                     "keys": {"email": "email"}},
        "Purchase": {"table": "orders", "id": "id", "fields": {
            "orderNumber": "order_no", "placedAt": {"column": "placed_at", "transform": [{"datetime": "ISO"}]}},
            "keys": {"orderNumber": "order_no"}, "refs": {"customer": "customer_id"}},
        "LineItem": {"table": "order_lines", "id": "id", "fields": {"name": "name"}, "refs": {"purchase": "order_id"}},
    }}


@asynccontextmanager
async def gateway(folder: Path, urls: dict[str, str], scope: Any = None) -> AsyncIterator[str]:
    config: dict[str, Any] = {
        "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
        "sources": {name: source(url) for name, url in urls.items()},
    }
    if scope == {"group": "billing"}:
        config["gateway"] = {"key_groups": {"billing": ["invoices", "payments"]}}
    if scope is not None:
        config["model"] = {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": scope}}}}}
    path = folder / "onepane.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    async with serve_app(create_app(Gateway.from_config(load_config(path, {})))) as url:
        yield url + "/graphql"


async def ask(url: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(
            url, data=orjson.dumps({"query": QUERY}), headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        answer: dict[str, Any] = orjson.loads(await response.read())
    assert answer.get("errors") is None, answer["errors"]
    customers: list[dict[str, Any]] = answer["data"]["customers"]
    return sorted(customers, key=lambda c: c["name"])


def purchases_of(customer: dict[str, Any]) -> list[tuple[list[str], list[str]]]:
    """Each purchase as (its sources, its line items)."""
    return [(sorted(r["source"] for r in p["sourceRecords"]), sorted(i["name"] for i in p["items"]))
            for p in customer["purchases"]]


@pytest.fixture
def two_sqlite(tmp_path: Path) -> dict[str, str]:
    return {name: sqlite_file(tmp_path, name) for name in ("invoices", "payments")}


@pytest.fixture
def with_postgres(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_postgres("onepane_scope") as url:
        asyncio.run(fill_postgres(url))
        yield {"invoices": sqlite_file(tmp_path, "invoices"), "ledger": url}


async def test_two_systems_own_order_382s_stay_two_purchases_of_two_customers(
        tmp_path: Path, two_sqlite: dict[str, str]) -> None:
    async with gateway(tmp_path, two_sqlite) as url:
        ann, bob = await ask(url)
    assert (ann["name"], bob["name"]) == ("Ann Lee", "Bob Stone")
    assert purchases_of(ann) == [(["invoices"], ["Kettle", "Toaster"])]
    assert purchases_of(bob) == [(["payments"], ["Gift card"])]


async def test_a_declared_group_merges_the_shared_numbering_and_says_so(
        tmp_path: Path, two_sqlite: dict[str, str]) -> None:
    async with gateway(tmp_path, two_sqlite, {"group": "billing"}) as url:
        ann, bob = await ask(url)
    merged = (["invoices", "payments"], ["Gift card", "Kettle", "Toaster"])
    assert purchases_of(ann) == [merged] and purchases_of(bob) == [merged]
    reasons = [reason for r in ann["purchases"][0]["sourceRecords"] for reason in r["linkedBy"]]
    assert reasons == ["orderNumber = 382 ~ payments:47 (scope: group billing)",
                       "orderNumber = 382 ~ invoices:41 (scope: group billing)"]


async def test_postgres_and_sqlite_order_382s_stay_apart_unless_grouped(
        tmp_path: Path, with_postgres: dict[str, str]) -> None:
    async with gateway(tmp_path, with_postgres) as url:
        ann, cara = await ask(url)
    assert purchases_of(ann) == [(["invoices"], ["Kettle", "Toaster"])]
    assert purchases_of(cara) == [(["ledger"], ["Desk lamp"])]
    async with gateway(tmp_path, with_postgres, {"group": ["invoices", "ledger"]}) as url:
        ann, cara = await ask(url)
    assert purchases_of(ann) == purchases_of(cara) == [(["invoices", "ledger"], ["Desk lamp", "Kettle", "Toaster"])]


SHIPMENTS = """{ customers(orderNumber: "382") { name purchases { shipments { bookingRef } } } }"""


def courier_file(folder: Path) -> str:
    path = folder / "couriers.db"
    if path.exists():
        return f"sqlite+aiosqlite:///{path}"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bookings (ref TEXT PRIMARY KEY, order_ref TEXT)")
        conn.execute("INSERT INTO bookings VALUES ('BK-1', '382')")
    return f"sqlite+aiosqlite:///{path}"


async def shipments(folder: Path, urls: dict[str, str], scoped: bool) -> dict[str, list[str]]:
    config: dict[str, Any] = {
        "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
        "sources": {**{name: source(url) for name, url in urls.items()}, "couriers": {
            "type": "sql", "url": courier_file(folder), "entities": {"Shipment": {
                "table": "bookings", "id": "ref", "fields": {"bookingRef": "ref", "orderNumber": "order_ref"},
                "keys": {"orderNumber": "order_ref"}}}}},
    }
    if scoped:  # the couriers book the invoicing system's orders; the payments system numbers its own
        shared = {"keys": {"orderNumber": {"scope": {"group": ["invoices", "couriers"]}}}}
        config["model"] = {"entities": {"Purchase": shared, "Shipment": shared}}
    path = folder / "onepane.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    async with serve_app(create_app(Gateway.from_config(load_config(path, {})))) as url, \
            aiohttp.ClientSession() as session, session.post(
                url + "/graphql", data=orjson.dumps({"query": SHIPMENTS}),
                headers={"Content-Type": "application/json"}) as response:
        answer = orjson.loads(await response.read())
    assert answer.get("errors") is None, answer["errors"]
    return {c["name"]: [s["bookingRef"] for p in c["purchases"] for s in p["shipments"]]
            for c in answer["data"]["customers"]}


async def test_a_relation_by_order_number_follows_only_the_systems_that_share_it(
        tmp_path: Path, two_sqlite: dict[str, str]) -> None:
    assert await shipments(tmp_path, two_sqlite, scoped=False) == {"Ann Lee": [], "Bob Stone": []}
    assert await shipments(tmp_path, two_sqlite, scoped=True) == {"Ann Lee": ["BK-1"], "Bob Stone": []}


async def test_a_lookup_root_by_order_number_never_picks_one_of_two_systems_382s(
        tmp_path: Path, two_sqlite: dict[str, str]) -> None:
    query = '{ order(orderNumber: "382") { id items { name } } }'
    for scope, expected in ((None, None), ({"group": "billing"}, ["Gift card", "Kettle", "Toaster"])):
        config: dict[str, Any] = {
            "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
            "sources": {name: source(url) for name, url in two_sqlite.items()},
            "model": {"roots": {"order": {"entity": "Purchase", "by": "orderNumber"}}},
        }
        if scope is not None:
            config["gateway"] = {"key_groups": {"billing": ["invoices", "payments"]}}
            config["model"]["entities"] = {"Purchase": {"keys": {"orderNumber": {"scope": scope}}}}
        path = tmp_path / "onepane.yaml"
        path.write_text(yaml.safe_dump(config), "utf-8")
        async with serve_app(create_app(Gateway.from_config(load_config(path, {})))) as url, \
                aiohttp.ClientSession() as session, session.post(
                    url + "/graphql", data=orjson.dumps({"query": query}),
                    headers={"Content-Type": "application/json"}) as response:
            answer = orjson.loads(await response.read())
        if expected is None:
            assert answer["data"]["order"] is None
            (error,) = answer["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert error["message"] == ("orderNumber: '382' names 2 different Purchase records "
                                        "(invoices:41, payments:47); ask by id")
        else:
            assert sorted(i["name"] for i in answer["data"]["order"]["items"]) == expected
