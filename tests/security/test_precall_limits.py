"""Values a source's columns could never hold are rejected before any call (issue 25): a Money
argument beyond a NUMERIC(10,2), a text longer than a VARCHAR(12), on PostgreSQL and MariaDB
(read from the column types at start), and a number beyond any SQLite number on the demo."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import require_service
from tests.security.conftest import SECURITY, api_key
from tests.stories.conftest import LiveDemo, post

SERVERS = {"postgresql": ("postgresql+asyncpg://postgres@127.0.0.1:5432", "postgres", 5432),
           "mariadb": ("mysql+aiomysql://root@127.0.0.1:3306", "test", 3306)}
TABLES = [
    "CREATE TABLE people (id INTEGER PRIMARY KEY, full_name VARCHAR(60), email VARCHAR(40), loyalty VARCHAR(12))",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no VARCHAR(20), customer_id INTEGER, "
    "total NUMERIC(10,2), currency CHAR(3))",
    "INSERT INTO people VALUES (1, 'Ann Lee', 'ann.lee@example.com', 'LOY000000001')",
    "INSERT INTO orders VALUES (1, 'A-1', 1, 99999999.99, 'GBP')",
]


async def _admin(server: str, statement: str) -> None:
    base, admin_db, _ = SERVERS[server]
    engine = create_async_engine(f"{base}/{admin_db}", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


async def _fill(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in TABLES:
            await conn.execute(sa.text(statement))
    await engine.dispose()


def _config(url: str) -> str:
    source = {"type": "sql", "url": url, "entities": {
        "Customer": {"table": "people", "id": "id",
                     "fields": {"name": "full_name", "emails": "email", "loyaltyNumbers": "loyalty"},
                     "keys": {"email": "email", "loyaltyNumber": "loyalty"}},
        "Purchase": {"table": "orders", "id": "id",
                     "fields": {"orderNumber": "order_no", "total": {"columns": ["total", "currency"],
                                                                     "transform": ["money"]}},
                     "keys": {"orderNumber": "order_no"}, "refs": {"customer": "customer_id"}}}}
    return yaml.safe_dump({"sources": {"legacy": source}, "security": SECURITY}, sort_keys=False)


@pytest.fixture(scope="module", params=sorted(SERVERS))
def legacy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    server: str = request.param
    base, _, port = SERVERS[server]
    require_service("127.0.0.1", port, server)
    name = f"onepane_limits_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f"CREATE DATABASE {name}"))
    try:
        asyncio.run(_fill(f"{base}/{name}"))
        live = LiveDemo(tmp_path_factory.mktemp(server), _config(f"{base}/{name}"))
        try:
            yield live
        finally:
            live.close()
    finally:
        asyncio.run(_admin(server, f"DROP DATABASE {name}"))


def _ask(live: LiveDemo, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return post(live.handle.url, query, variables, api_key("admin"))


def _refused(body: dict[str, Any], argument: str) -> str:
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["argument"] == argument, error
    assert all(s["calls"] == 0 for s in body["extensions"]["sources"].values())  # no source was called
    return str(error["message"])


AMOUNT = "query($a: Decimal) { purchases(filter: {amount: $a}) { nodes { id } } }"
LOYALTY = "query($v: String!) { customers(loyaltyNumber: $v) { id } }"
EMAIL = "query($v: String!) { customers(email: $v) { id } }"


def test_an_amount_beyond_the_column_is_refused_before_any_call(legacy: LiveDemo) -> None:
    message = _refused(_ask(legacy, AMOUNT, {"a": "100000000.00"}), "total")
    assert "at most 99999999.99" in message
    assert _refused(_ask(legacy, AMOUNT, {"a": "-1e30"}), "total")
    fits = _ask(legacy, AMOUNT, {"a": "99999999.99"})  # the largest it holds: asked, and found
    assert fits.get("errors") is None and fits["data"]["purchases"]["nodes"] == [{"id": "legacy:1"}]


def test_a_text_longer_than_the_column_is_refused_before_any_call(legacy: LiveDemo) -> None:
    message = _refused(_ask(legacy, LOYALTY, {"v": "7" * 10_000}), "loyaltyNumber")
    assert "at most 12" in message and len(message) < 200  # the value is not echoed whole
    assert _refused(_ask(legacy, EMAIL, {"v": "a" * 40 + "@example.com"}), "email")
    found = _ask(legacy, LOYALTY, {"v": "LOY000000001"})
    assert found.get("errors") is None and found["data"]["customers"] == [{"id": "legacy:1"}]


def test_an_id_beyond_an_integer_column_is_refused_before_any_call(legacy: LiveDemo) -> None:
    query = "query($id: ID!) { customer(id: $id) { id } }"
    assert "at most 2147483647" in _refused(_ask(legacy, query, {"id": "legacy:99999999999"}), "id")
    assert _ask(legacy, query, {"id": "legacy:1"})["data"]["customer"] == {"id": "legacy:1"}


def test_a_number_beyond_any_sqlite_number_is_refused_before_any_call(secured: LiveDemo) -> None:
    for _ in range(15):
        body = post(secured.handle.url, AMOUNT, {"a": "1e999999"}, api_key("admin"))
        _refused(body, "total")
    stats = post(secured.handle.url, "query($a: Decimal) { purchaseStats(groupBy: CHANNEL, filter: {amount: $a}) "
                 "{ purchases } }", {"a": "1e999999"}, api_key("admin"))
    _refused(stats, "total")


def test_the_limits_follow_the_column_types(tmp_path: Path) -> None:
    from federation.contract import ValueLimit
    from federation.engine.precheck import check_lookup
    from federation.errors import QueryError

    limits = {"s": {"Customer": {"key:loyaltyNumber": ValueLimit(max_length=12), "id": ValueLimit(max_abs=2**31 - 1)}}}
    check_lookup(limits, ["s"], "Customer", "key:loyaltyNumber", ["x" * 12])
    with pytest.raises(QueryError, match="at most 12"):
        check_lookup(limits, ["s"], "Customer", "key:loyaltyNumber", ["x" * 13])
    check_lookup(limits, ["other"], "Customer", "key:loyaltyNumber", ["x" * 13])  # a source without limits
