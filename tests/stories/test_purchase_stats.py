"""purchaseStats over HTTP: every source grouped and totalled, top customers with ties kept."""

from __future__ import annotations

from decimal import Decimal

from tests.stories.conftest import LiveDemo, post

STATS = """query($by: PurchaseGroupBy!, $top: Int, $filter: PurchaseFilter) {
  purchaseStats(groupBy: $by, top: $top, filter: $filter) {
    purchases truncated groups { key label count totals { amount currency } }
  }
}"""


def stats(demo: LiveDemo, **variables: object) -> dict[str, object]:
    body = post(demo.handle.url, STATS, variables)
    assert body.get("errors") is None, body.get("errors")
    result: dict[str, object] = body["data"]["purchaseStats"]
    return result


def test_channels_add_up_to_every_purchase(demo: LiveDemo) -> None:
    result = stats(demo, by="CHANNEL")
    listing = post(demo.handle.url, "{ purchases(first: 100) { nodes { id channel total { amount } } } }")
    nodes = listing["data"]["purchases"]["nodes"]
    groups = {g["key"]: g for g in result["groups"]}  # type: ignore[union-attr,index]
    assert result["purchases"] == len(nodes) and result["truncated"] is False
    assert {k: g["count"] for k, g in groups.items()} == {
        c: sum(1 for n in nodes if n["channel"] == c) for c in {n["channel"] for n in nodes}}
    store_total = sum(Decimal(n["total"]["amount"]) for n in nodes if n["channel"] == "STORE" and n["total"])
    assert Decimal(groups["STORE"]["totals"][0]["amount"]) == store_total


def test_top_customers_by_spend_across_every_system(demo: LiveDemo) -> None:
    result = stats(demo, by="CUSTOMER", top=1)
    (first,) = result["groups"]  # type: ignore[misc]
    assert first["label"] in ("Zoë Hart", "ZOE HART")  # the washer and dryer: the biggest spend
    assert first["totals"] == [{"amount": "990.00", "currency": "GBP"}]  # 978.00 + a 12.00 cash sale


def test_days_in_time_order_and_a_filter_pushed_to_the_sources(demo: LiveDemo) -> None:
    result = stats(demo, by="DAY", filter={"cardLast4": "4417"})
    assert [g["key"] for g in result["groups"]] == ["2025-11-04", "2025-11-18"]  # type: ignore[index,union-attr]


def test_one_customer_by_store(demo: LiveDemo) -> None:
    result = stats(demo, by="STORE", filter={"customerId": "pos:00004711"})
    (leeds,) = result["groups"]  # type: ignore[misc]
    assert leeds["label"] == "LEEDS TRINITY" and leeds["count"] == 3
