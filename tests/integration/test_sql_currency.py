"""A currency read from a row must be an ISO 4217 code: anything else is that field's error, with
the value the source holds shown, never a Money in a made-up currency."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import aiohttp
import yaml

from connectors.sdk import Condition, ConnectorContext, Money, SearchRequest
from connectors.sql import SqlConnector
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.model import builtin_model
from federation.server import create_app
from tests.conftest import serve_app

ROWS = [("o1", "12.50", "GBP"), ("o2", "3", "usd"), ("o3", "4.00", "XYZ"), ("o4", "5", "US$"),
        ("o5", "6", 840), ("o6", "7", "  "), ("o7", "8", None)]


async def test_currency_values_from_rows_are_iso_4217_or_a_labelled_field_error(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, amount TEXT, currency TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", ROWS)
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///shop.db", "entities": {"Purchase": {
        "table": "orders", "id": "id",
        "fields": {"total": {"columns": ["amount", "currency"], "transform": [{"money": "EUR"}]}}}}})
    connector = SqlConnector("shop", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))
    try:
        records = {r.local_id: r for r in await connector.lookup("Purchase", "id", [r[0] for r in ROWS])}
    finally:
        await connector.close()
    assert records["o1"].fields["total"] == Money(Decimal("12.50"), "GBP")
    assert records["o2"].fields["total"] == Money(Decimal("3"), "USD")
    # A blank currency column takes the mapping's default currency.
    assert records["o6"].fields["total"] == Money(Decimal("7"), "EUR")
    assert records["o7"].fields["total"] == Money(Decimal("8"), "EUR")
    for local_id, shown in (("o3", "'XYZ' is not an ISO 4217 currency code"),
                            ("o4", "'US$' is not an ISO 4217 currency code"),
                            ("o5", "'840' is not an ISO 4217 currency code")):
        record = records[local_id]
        assert record.fields["total"] is None
        assert shown in record.errors["total"], record.errors
        assert "table orders, column amount, currency" in record.errors["total"]


async def test_minor_units_follow_the_currency_in_reads_and_pushed_filters(tmp_path: Path) -> None:
    """`{money_minor: JPY}` reads yen as yen and `{money_minor: BHD}` fils as thousandths (ISO 4217
    minor units), and a pushed-down amount filter selects exactly what the records hold."""
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE jp (id TEXT PRIMARY KEY, yen INTEGER)")
        db.executemany("INSERT INTO jp VALUES (?, ?)", [("a", 500), ("b", 1500), ("c", 99_000)])
        db.execute("CREATE TABLE bh (id TEXT PRIMARY KEY, fils INTEGER)")
        db.execute("INSERT INTO bh VALUES ('x', 12345)")
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///shop.db", "entities": {
        "Purchase": {"table": "jp", "id": "id", "fields": {"total": {"column": "yen",
                                                                     "transform": [{"money_minor": "JPY"}]}}},
        "Payment": {"table": "bh", "id": "id", "fields": {"amount": {"column": "fils",
                                                                     "transform": [{"money_minor": "BHD"}]}}}}})
    connector = SqlConnector("shop", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))
    try:
        assert "total" in connector.capabilities().entities["Purchase"].filters  # the filter is pushed down
        every = {r.local_id: r.fields["total"] for r in await connector.search("Purchase", SearchRequest())}
        found = await connector.search("Purchase", SearchRequest(conditions=(
            Condition("total", "gte", Money(Decimal("1000"), "JPY")),)))
        (payment,) = await connector.search("Payment", SearchRequest())
    finally:
        await connector.close()
    assert every == {"a": Money(Decimal("500"), "JPY"), "b": Money(Decimal("1500"), "JPY"),
                     "c": Money(Decimal("99000"), "JPY")}
    assert sorted(r.local_id for r in found) == ["b", "c"]
    assert payment.fields["amount"] == Money(Decimal("12.345"), "BHD")


async def test_a_non_iso_currency_is_a_source_data_error_over_graphql(tmp_path: Path) -> None:
    """The agent sees the rest of the purchase, and an error naming source, field and the value held."""
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, ref TEXT, amount TEXT, currency TEXT)")
        db.execute("INSERT INTO orders VALUES ('o1', 'A-1', '12.50', 'US$')")
    config = {"security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
              "sources": {"shop": {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "entities": {"Purchase": {
                  "table": "orders", "id": "id", "fields": {
                      "orderNumber": "ref", "total": {"columns": ["amount", "currency"], "transform": ["money"]}}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    async with serve_app(create_app(Gateway.from_config(load_config(path, {})))) as url, \
            aiohttp.ClientSession() as session, session.post(url + "/graphql", json={
            "query": '{ purchase(id: "shop:o1") { orderNumber total { amount currency } } }'}) as response:
        body = await response.json()
    assert body["data"]["purchase"] == {"orderNumber": "A-1", "total": None}
    (error,) = body["errors"]
    assert error["path"] == ["purchase", "total"]
    assert error["extensions"] == {"code": "SOURCE_DATA_ERROR", "source": "shop"}
    assert "'US$' is not an ISO 4217 currency code" in error["message"]
    assert "SELECT" not in error["message"]
