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


TWO = """query($by: PurchaseGroupBy!, $then: PurchaseGroupBy, $filter: PurchaseFilter) {
  purchaseStats(groupBy: $by, thenBy: $then, filter: $filter) {
    purchases groups { key keys label labels count totals { amount currency } }
  }
}"""


def _days(demo: LiveDemo) -> dict[str, int]:
    result = stats(demo, by="DAY")
    return {g["key"]: g["count"] for g in result["groups"]}  # type: ignore[index,union-attr]


def test_weeks_and_months_are_days_added_up_in_time_order(demo: LiveDemo) -> None:
    from datetime import date, timedelta

    days = _days(demo)
    weeks = stats(demo, by="WEEK")["groups"]
    months = stats(demo, by="MONTH")["groups"]
    week_keys = [g["key"] for g in weeks]  # type: ignore[index,union-attr]
    assert week_keys == sorted(week_keys)
    expected_weeks: dict[str, int] = {}
    for day, count in days.items():
        if day != "unknown":
            monday = date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())
            expected_weeks[monday.isoformat()] = expected_weeks.get(monday.isoformat(), 0) + count
    assert {g["key"]: g["count"] for g in weeks if g["key"] != "unknown"} == expected_weeks  # type: ignore[index,union-attr]
    assert all(date.fromisoformat(k).weekday() == 0 for k in expected_weeks)
    assert {g["key"]: g["count"] for g in months if g["key"] != "unknown"} == {  # type: ignore[index,union-attr]
        m: sum(c for d, c in days.items() if d.startswith(m)) for m in {d[:7] for d in days if d != "unknown"}}


def test_two_dimensions_channel_per_week(demo: LiveDemo) -> None:
    body = post(demo.handle.url, TWO, {"by": "WEEK", "then": "CHANNEL"})
    assert body.get("errors") is None, body.get("errors")
    groups = body["data"]["purchaseStats"]["groups"]
    assert all(len(g["keys"]) == 2 and g["key"] == " / ".join(g["keys"]) for g in groups)
    weeks = [g["keys"][0] for g in groups]
    assert weeks == sorted(weeks)  # time first, channels within a week
    by_week = {g["key"]: g["count"] for g in stats(demo, by="WEEK")["groups"]}  # type: ignore[index,union-attr]
    for week, count in by_week.items():
        assert sum(g["count"] for g in groups if g["keys"][0] == week) == count
    channels = {g["keys"][1] for g in groups}
    assert channels <= {"WEB", "STORE", "PHONE", "MARKETPLACE", "OTHER", "UNKNOWN"} and "STORE" in channels


def test_customer_then_channel_labels_the_customer(demo: LiveDemo) -> None:
    body = post(demo.handle.url, TWO, {"by": "CUSTOMER", "then": "CHANNEL"})
    groups = body["data"]["purchaseStats"]["groups"]
    zoe = [g for g in groups if g["label"] in ("Zoë Hart", "ZOE HART")]
    assert zoe and all(g["labels"][1] is None for g in zoe)


def test_bad_dimensions_are_named(demo: LiveDemo) -> None:
    body = post(demo.handle.url, TWO, {"by": "WEEK", "then": "WEEK"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "thenBy" in error["message"]
    body = post(demo.handle.url, TWO, {"by": "FORTNIGHT"})
    message = body["errors"][0]["message"]
    assert "FORTNIGHT" in message and "WEEK" in message and "MONTH" in message  # the valid values listed
