"""A key declared unique in its source (`keys: {orderNumber: {column: order_no, unique: true}}`)
is never looked up again in that source: identity work follows what the query needs.

Real sources: two SQLite files, a web shop and a till, each numbering orders; every statement
the gateway sends is recorded. The answers with and without the declaration are the same; only
the lookups that could find nothing new are gone. A declaration that is false (two shop orders
share a number) still merges the two records when both are fetched, and `federation check`
says the declaration is false, or, when the sample shows the key unique, that declaring it
would save a lookup that scans.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from sqlalchemy import event
from sqlalchemy.engine import Engine

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app

QUERY = """{ customers(email: "ann@example.com") {
  name purchases { orderNumber sourceRecords { source localId linkedBy } } } }"""


def system(folder: Path, name: str, orders: list[tuple[int, str]]) -> str:
    """A shop or till: customer 1 Ann, and her orders (id, number)."""
    path = folder / f"{name}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT, customer_id INTEGER, placed_at TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'Ann Lee', 'ann@example.com')")
        conn.executemany("INSERT INTO orders VALUES (?, ?, 1, '2025-03-01T10:00:00+00:00')", orders)
    return f"sqlite+aiosqlite:///{path}"


def source(url: str, unique: bool) -> dict[str, Any]:
    key: Any = {"column": "order_no", "unique": True} if unique else "order_no"
    return {"type": "sql", "url": url, "entities": {
        "Customer": {"table": "customers", "id": "id", "fields": {"name": "name", "emails": "email"},
                     "keys": {"email": "email"}},
        "Purchase": {"table": "orders", "id": "id", "fields": {"orderNumber": "order_no"},
                     "keys": {"orderNumber": key}, "refs": {"customer": "customer_id"}},
    }}


def write_config(folder: Path, urls: dict[str, str], unique: bool, group: bool = False) -> Path:
    config: dict[str, Any] = {
        "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
        "sources": {name: source(url, unique) for name, url in urls.items()},
    }
    if group:  # the till records the shop's order numbers: one numbering
        config["model"] = {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": {"group": list(urls)}}}}}}
    path = folder / f"onepane-{unique}-{group}.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    return path


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement any engine sends while the test runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append(" ".join(statement.split()) + f" -- {parameters!r}")

    event.listen(Engine, "before_cursor_execute", record)
    yield sent
    event.remove(Engine, "before_cursor_execute", record)


@asynccontextmanager
async def serving(path: Path) -> AsyncIterator[str]:
    async with serve_app(create_app(Gateway.from_config(load_config(path, {})))) as url:
        yield url + "/graphql"


async def ask(url: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(
            url, data=orjson.dumps({"query": QUERY}), headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        answer: dict[str, Any] = orjson.loads(await response.read())
    assert answer.get("errors") is None, answer["errors"]
    (customer,) = answer["data"]["customers"]
    for purchase in customer["purchases"]:
        for record in purchase["sourceRecords"]:
            record["id"] = f"{record['source']}:{record.pop('localId')}"
    return sorted(customer["purchases"], key=lambda p: sorted(r["id"] for r in p["sourceRecords"]))


def by_number(sent: list[str]) -> list[str]:
    """The statements that look orders up by their number (the identity hop)."""
    return [s for s in sent if "FROM orders WHERE" in s and "order_no" in s.partition("WHERE")[2]]


async def test_a_unique_number_in_its_own_scope_is_never_looked_up_again(
        tmp_path: Path, statements: list[str]) -> None:
    urls = {"shop": system(tmp_path, "shop", [(41, "A-100"), (42, "A-101")]),
            "till": system(tmp_path, "till", [(71, "A-100"), (72, "T-9")])}
    async with serving(write_config(tmp_path, urls, unique=False)) as url:
        before = await ask(url)
    assert len(by_number(statements)) == 2  # each system asked for its own purchases' numbers
    statements.clear()
    async with serving(write_config(tmp_path, urls, unique=True)) as url:
        after = await ask(url)
    assert by_number(statements) == []
    assert after == before
    # Each system numbers its own orders (scope: source): shop A-100 and till A-100 stay apart.
    assert [[r["id"] for r in p["sourceRecords"]] for p in after] == [
        ["shop:41"], ["shop:42"], ["till:71"], ["till:72"]]


async def test_a_unique_number_is_still_asked_of_the_other_systems_its_scope_reaches(
        tmp_path: Path, statements: list[str]) -> None:
    urls = {"shop": system(tmp_path, "shop", [(41, "A-100"), (42, "A-101")]),
            "till": system(tmp_path, "till", [(71, "A-100"), (72, "T-9")])}
    async with serving(write_config(tmp_path, urls, unique=False, group=True)) as url:
        before = await ask(url)
    statements.clear()
    async with serving(write_config(tmp_path, urls, unique=True, group=True)) as url:
        after = await ask(url)
    assert after == before
    assert [sorted(r["id"] for r in p["sourceRecords"]) for p in after] == [
        ["shop:41", "till:71"], ["shop:42"], ["till:72"]]
    merged = after[0]["sourceRecords"]
    assert any(reason.startswith("orderNumber = A100") for r in merged for reason in r["linkedBy"]), merged
    # One lookup per system, each carrying only the other system's numbers: the shop is asked
    # for the till's T-9 and A-100, the till for the shop's; never both of A-101
    # and T-9, as each system was without the declaration.
    asked = by_number(statements)
    assert len(asked) == 2 and not any("A101" in s and "T9" in s for s in asked), asked


async def test_a_false_declaration_still_merges_two_records_that_share_the_number(
        tmp_path: Path, statements: list[str]) -> None:
    """Shop orders 41 and 43 are both A-100 although the config says numbers are unique: both
    are Ann's, both are fetched, and clustering still makes them one purchase."""
    urls = {"shop": system(tmp_path, "shop", [(41, "A-100"), (42, "A-101"), (43, "A-100")]),
            "till": system(tmp_path, "till", [(72, "T-9")])}
    async with serving(write_config(tmp_path, urls, unique=False)) as url:
        before = await ask(url)
    async with serving(write_config(tmp_path, urls, unique=True)) as url:
        after = await ask(url)
    assert after == before
    assert [[r["id"] for r in p["sourceRecords"]] for p in after] == [["shop:41", "shop:43"], ["shop:42"], ["till:72"]]


def big_shop(folder: Path, duplicate: bool) -> Path:
    """10,001 orders (more than `check` lets a lookup scan), numbers unique unless `duplicate`
    (then orders 1 and 2 are both A-1); the config declares the numbers unique when they are not."""
    folder.mkdir()
    orders = [(i, f"A-{1 if duplicate and i == 2 else i}") for i in range(1, 10_002)]
    url = system(folder, "shop", orders)
    return write_config(folder, {"shop": url}, unique=duplicate)


def check_output(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    from federation.cli import main

    assert main(["check", str(path)]) == 0  # evidence, not proof: the exit code is unchanged
    return " ".join("".join(capsys.readouterr()).split())


def test_check_suggests_unique_where_a_linking_key_lookup_scans_and_the_sample_shares_no_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = big_shop(tmp_path / "unique", duplicate=False)
    out = check_output(path, capsys)
    assert "sources.shop.entities.Purchase.key:orderNumber: reads every row of table orders" in out
    assert ("unique key note " in out and "sources.shop.entities.Purchase.keys.orderNumber: none of the 300 sampled "
            "records share a value; if no two ever do, declare it, orderNumber: {column: ..., unique: true}, and "
            "identity never sends the lookup above for a record's own value") in out, out
    assert "unique key warning" not in out


def test_check_warns_when_records_share_a_value_declared_unique(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = big_shop(tmp_path / "false", duplicate=True)
    out = check_output(path, capsys)
    assert ("unique key warning" in out and "sources.shop.entities.Purchase.keys.orderNumber: declared unique: true, "
            "but 1 value(s) are shared by two or more of 300 sampled records (e.g. A1)") in out, out
    assert "declared unique: true, so identity never sends the lookup above" in out
