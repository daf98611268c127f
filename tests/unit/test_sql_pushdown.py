"""Which WHERE filters `federation sql` asks the purchase sources for: supersets only, never a guess."""

from __future__ import annotations

import pytest

from federation.analyst.pushdown import purchase_filter

FED = frozenset({"line_items", "payments", "stores", "shipments", "products", "shipment_events"})
CHANNELS = frozenset({"WEB", "STORE", "PHONE", "MARKETPLACE", "OTHER"})
COLUMNS = {"purchases": frozenset({"id", "placed_at", "channel", "source", "customer_id", "total_amount"}),
           "customers": frozenset({"id", "name", "source"}), "cases": frozenset({"id", "customer_id", "opened_at"})}


def pushed(sql: str) -> dict[str, str]:
    return purchase_filter(sql, FED, CHANNELS, COLUMNS)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM purchases WHERE placed_at >= '2025-11-01' AND placed_at < '2025-12-01'",
     {"placedFrom": "2025-11-01T00:00:00+00:00", "placedTo": "2025-12-01T00:00:00+00:00"}),
    ("SELECT * FROM purchases p WHERE p.placed_at > TIMESTAMPTZ '2025-11-01 10:00:00+02'",
     {"placedFrom": "2025-11-01T08:00:00+00:00"}),  # > pushed as >=: one instant more, dropped by DuckDB
    ("SELECT * FROM purchases WHERE placed_at <= DATE '2025-11-30'",
     {"placedTo": "2025-11-30T00:00:00.000001+00:00"}),  # <= pushed as < one microsecond later
    ("SELECT * FROM purchases WHERE '2025-11-01' <= placed_at", {"placedFrom": "2025-11-01T00:00:00+00:00"}),
    ("SELECT * FROM purchases WHERE placed_at BETWEEN '2025-11-01' AND '2025-11-02'",
     {"placedFrom": "2025-11-01T00:00:00+00:00", "placedTo": "2025-11-02T00:00:00.000001+00:00"}),
    ("SELECT * FROM purchases WHERE placed_at >= TIMESTAMPTZ '2025-11-10' - INTERVAL 7 DAY",
     {"placedFrom": "2025-11-03T00:00:00+00:00"}),
    ("SELECT * FROM purchases WHERE placed_at >= '2025-11-01' AND placed_at >= '2025-11-05'",
     {"placedFrom": "2025-11-05T00:00:00+00:00"}),  # the tighter of two bounds
    ("SELECT channel, count(*) FROM purchases WHERE channel = 'STORE' AND source = 'pos' GROUP BY 1",
     {"channel": "STORE", "source": "pos"}),
    ("SELECT c.name FROM purchases p JOIN customers c ON c.id = p.customer_id WHERE p.placed_at >= '2025-11-01'",
     {"placedFrom": "2025-11-01T00:00:00+00:00"}),
])
def test_pushed(sql: str, expected: dict[str, str]) -> None:
    assert pushed(sql) == expected


@pytest.mark.parametrize("sql", [
    "SELECT * FROM purchases WHERE placed_at >= '2025-11-01' OR channel = 'WEB'",  # OR: a union, not a narrowing
    "SELECT * FROM purchases a JOIN purchases b ON a.customer_id = b.customer_id WHERE a.placed_at > '2025-11-01'",
    "SELECT * FROM purchases p JOIN line_items i ON i.purchase_id = p.id WHERE p.placed_at > '2025-11-01'",
    "SELECT * FROM purchases WHERE placed_at > '2025-11-01' AND id IN (SELECT purchase_id FROM line_items)",
    "SELECT * FROM purchases WHERE id IN (SELECT id FROM purchases WHERE placed_at > '2025-11-01')",
    "SELECT * FROM purchases WHERE date_trunc('day', placed_at) = '2025-11-01'",  # a function of the column
    "SELECT * FROM purchases WHERE channel = 'TELEPATHY'",  # not a channel: nothing to ask for
    "SELECT * FROM purchases WHERE placed_at > (SELECT max(opened_at) FROM cases)",  # not a constant
    "WITH p AS (SELECT * FROM purchases) SELECT * FROM p WHERE placed_at > '2025-11-01'",
    "SELECT * FROM purchases p JOIN cases k ON k.customer_id = p.customer_id WHERE placed_at > '2025-11-01' "
    "UNION ALL SELECT * FROM purchases p JOIN cases k ON true",
    "SELECT * FROM purchases WHERE placed_at IS NULL OR placed_at > '2025-11-01'",
    "SELEC nonsense",
])
def test_not_pushed(sql: str) -> None:
    assert pushed(sql) == {}
