"""A currency read from a row must be an ISO 4217 code: anything else is that field's error, with
the value the source holds shown, never a Money in a made-up currency."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from connectors.sdk import ConnectorContext, Money
from connectors.sql import SqlConnector
from federation.model import builtin_model

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
