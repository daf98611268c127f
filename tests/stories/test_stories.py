"""Each story of STORIES.md, answered by its one query in examples/queries/, over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.stories.conftest import LiveDemo, post, story

ALL_SOURCES = {"shop", "pos", "delivery", "crm", "warranty", "loyalty"}


def answer(demo: LiveDemo, name: str) -> dict[str, Any]:
    body = post(demo.handle.url, story(name))
    assert body.get("errors") is None, body.get("errors")
    sources = body["extensions"]["sources"]
    assert set(sources) == ALL_SOURCES
    assert all(s["ok"] for s in sources.values())
    data: dict[str, Any] = body["data"]
    return data


def refs(entity: dict[str, Any]) -> set[str]:
    return {f"{r['source']}:{r['localId']}" for r in entity["sourceRecords"]}


def test_story1_preorder_shows_the_disagreement_refund_and_every_contact(demo: LiveDemo) -> None:
    (ann,) = answer(demo, "story1_preorder")["customers"]
    assert refs(ann) == {"shop:1", "crm:C-1001"}
    assert set(ann["emails"]) == {"ann.lee@example.com", "annie77@example.net"}
    order = next(p for p in ann["purchases"] if p["orderNumber"] == "WEB-100231")
    assert refs(order) == {"shop:1", "crm:CASE-501"}
    (status,) = [c for c in order["conflicts"] if c["field"] == "status"]
    assert [(v["value"], v["source"], v["observedAt"]) for v in status["values"]] == [
        ("PROCESSING", "shop", "2025-11-21T08:15:00+00:00"),
        ("CANCELLED", "crm", "2025-11-29T11:00:00+00:00"),
    ]
    assert not [c for c in order["conflicts"] if c["field"] == "orderNumber"]  # same number, other spelling
    assert order["rawStatuses"] == ["processing_in_warehouse", "cancelled_refunded"]
    assert [(p["kind"], p["amount"]["amount"]) for p in order["payments"]] == [("REFUND", "24.99"), ("CHARGE", "24.99")]
    contacts = [(t["channel"], t["direction"], t["source"]) for t in ann["timeline"] if t["kind"] == "INTERACTION"]
    assert contacts == [("EMAIL", "OUTBOUND", "crm"), ("SOCIAL", "INBOUND", "crm"), ("EMAIL", "INBOUND", "crm"),
                        ("EMAIL", "OUTBOUND", "crm"), ("EMAIL", "INBOUND", "crm")]
    times = [datetime.fromisoformat(t["at"]) for t in ann["timeline"]]
    assert times == sorted(times, reverse=True)
    assert {"PURCHASE", "PAYMENT", "CASE", "INTERACTION"} <= {t["kind"] for t in ann["timeline"]}


def test_story2_email_finds_the_store_purchase_beside_online_orders(demo: LiveDemo) -> None:
    (jose,) = answer(demo, "story2_store_purchase")["customers"]
    assert {"shop:2", "crm:C-1002"} <= refs(jose)
    store = [p for p in jose["purchases"] if p["channel"] == "STORE"]
    online = [p for p in jose["purchases"] if p["channel"] == "WEB"]
    assert {p["orderNumber"] for p in online} == {"WEB-100198", "WEB-100245"}
    (sale,) = store
    assert sale["store"] == {"name": "MANCHESTER ARNDALE", "city": "MANCHESTER"}
    assert sale["placedAt"] == "2025-11-08T14:32:00+00:00" and sale["till"] == "03"
    assert [(i["name"], i["unitPrice"]["amount"]) for i in sale["items"]] == [
        ("SLIM TROUSERS BLACK 32R", "45.00"), ("LEATHER BELT BROWN", "18.00")]
    assert sale["payment"] == {"method": "CARD", "cardLast4": "1881"}
    assert sale["total"] == {"amount": "63.00", "currency": "GBP"}


def test_story3_purchase_with_every_booking_history_and_the_duplicate_flag(demo: LiveDemo) -> None:
    (zoe,) = answer(demo, "story3_double_delivery")["customers"]
    assert refs(zoe) == {"pos:00003021", "crm:C-1003"}
    (washer,) = [p for p in zoe["purchases"] if p["orderNumber"] == "BF-2025-0042"]
    assert washer["flags"] == [{"code": "DUPLICATE_DELIVERY", "message": "2 deliveries were completed for this order"}]
    bookings = {s["bookingRef"]: s for s in washer["shipments"]}
    assert {b: s["status"] for b, s in bookings.items()} == {
        "DLV-88001": "CANCELLED", "DLV-88107": "DELIVERED", "DLV-88112": "DELIVERED"}
    history = [e["status"] for e in reversed(bookings["DLV-88001"]["events"])]
    assert history == ["BOOKED", "MISSED", "RESCHEDULED", "CANCELLED"]
    channels = {t["channel"] for t in zoe["timeline"] if t["kind"] == "INTERACTION"}
    assert {"PHONE", "EMAIL", "SOCIAL"} <= channels
    assert any(t["kind"] == "DELIVERY" for t in zoe["timeline"])


def test_story4_card_digits_time_and_amount_find_the_sale_and_its_customer(demo: LiveDemo) -> None:
    data = answer(demo, "story4_no_receipt")["purchases"]
    (sale,) = data["nodes"]
    assert sale["id"] == "pos:0078:30455"
    assert sale["payment"]["cardLast4"] == "4417" and sale["total"]["amount"] == "89.99"
    customer = sale["customer"]
    assert refs(customer) == {"pos:00005120", "crm:C-1004"}
    waits = [(i["channel"], i["waitSeconds"]) for i in customer["interactions"] if i["direction"] == "INBOUND"]
    assert waits == [("WHATSAPP", 173520), ("CHAT", 540), ("PHONE", 1260)]


def test_story5_same_person_from_the_store_number_or_the_crm_case(demo: LiveDemo) -> None:
    data = answer(demo, "story5_store_and_crm")
    from_store, (from_case,) = data["fromStore"], data["fromCrmCase"]
    assert from_store["id"] == from_case["id"]
    assert refs(from_store) == refs(from_case) == {"pos:00004711", "crm:C-1005"}
    assert {c["id"] for c in from_store["cases"]} == {"crm:CASE-550", "crm:CASE-551"}
    assert {p["id"] for p in from_case["purchases"]} == {"pos:0056:41002", "pos:0056:41377", "pos:0056:41590"}
    assert len(from_store["interactions"]) == 4


def test_story7_an_export_fed_partner_answers_with_its_age(demo: LiveDemo) -> None:
    body = post(demo.handle.url, story("story7_loyalty_export"))
    assert body.get("errors") is None, body.get("errors")
    (customer,) = body["data"]["customers"]
    assert "crm:C-1002" in refs(customer)
    (statement,) = customer["pointsStatements"]
    assert (statement["points"], statement["tier"], statement["weekEnding"]) == (1240, "Silver", "2025-11-30")
    (record,) = statement["sourceRecords"]
    assert record["source"] == "loyalty" and record["stale"] is True  # the demo's week is long past
    assert record["ageSeconds"] > 8 * 86400
    assert record["asOf"] == "2025-11-30T00:00:00+00:00"  # the weekly file this statement was read from
    loyalty = body["extensions"]["sources"]["loyalty"]
    assert loyalty["asOf"] == "2025-11-30T00:00:00+00:00" and loyalty["pastMaxAge"] is True and loyalty["ok"]


def test_walk_in_the_clerk_types_name_and_phone_and_finds_jose_by_key(demo: LiveDemo) -> None:
    customers = answer(demo, "walk_in")["customers"]
    jose = customers[0]
    assert "crm:C-1002" in refs(jose) and jose["match"]["matchedByKeys"] == ["phone"]
    assert jose["match"]["score"] == 1.0 and jose["match"]["reasons"] == ["matched by key: phone = 07700 900202"]
    assert jose["match"]["explanation"] is None   # the demo has no fuzzy rules: a key, not a score
