"""The demo legacy systems: deterministic, every story present, the CRM a real HTTP service."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from federation.demo.crm import serve_crm
from federation.demo.data import NOW, STORIES, DemoFiles, build_demo

API_KEY = "demo-secret"


def _rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


@pytest.fixture
def demo(tmp_path: Path) -> DemoFiles:
    return build_demo(tmp_path / "demo")


def test_build_is_deterministic(tmp_path: Path) -> None:
    a = build_demo(tmp_path / "a")
    b = build_demo(tmp_path / "b")
    for name in ("shop", "pos", "delivery", "crm"):
        pa, pb = getattr(a, name), getattr(b, name)
        assert pa.read_bytes() == pb.read_bytes(), name
    for name in ("shop", "pos", "delivery"):
        assert _dump(getattr(a, name)) == _dump(getattr(b, name))
    # Rebuilding in place replaces, not appends.
    again = build_demo(tmp_path / "a")
    assert again.shop.read_bytes() == b.shop.read_bytes()


def test_story_1_dvd_preorder(demo: DemoFiles) -> None:
    s = STORIES[1]
    [(order_id, status, updated)] = _rows(
        demo.shop,
        "SELECT o.id, o.status, o.updated_at FROM orders o JOIN customers c "
        "ON c.id = o.customer_id WHERE c.email = ? AND o.order_no = ?",
        (s["email"], s["order_no"]),
    )
    assert status == "processing_in_warehouse"
    kinds = _rows(demo.shop, "SELECT kind FROM payments WHERE order_id = ? ORDER BY id",
                  (order_id,))
    assert [k for (k,) in kinds] == ["charge", "refund"]
    crm = json.loads(demo.crm.read_text(encoding="utf-8"))
    contact = next(c for c in crm["contacts"] if c["id"] == s["crm_contact"])
    assert len(contact["emails"]) == 2
    assert s["messy_email"] in contact["emails"]
    case = next(c for c in crm["cases"] if c["id"] == s["crm_case"])
    assert case["order_status"] == "cancelled_refunded"
    assert datetime.fromisoformat(case["updated"]) > datetime.fromisoformat(updated)
    mine = [i for i in crm["interactions"] if i["contact_id"] == s["crm_contact"]]
    assert [i["id"] for i in mine] == s["interactions"]
    assert sorted((i["channel"], i["direction"]) for i in mine) == [
        ("email", "in"), ("email", "in"), ("email", "out"), ("email", "out"),
        ("facebook", "in"),
    ]
    assert {i["from_address"] for i in mine if i["channel"] == "email" and
            i["direction"] == "in"} == set(contact["emails"])


def test_story_2_store_purchase_without_email(demo: DemoFiles) -> None:
    s = STORIES[2]
    store, txn = s["pos_sale"]
    [(cust, lyl, tel, l4, name)] = _rows(
        demo.pos,
        "SELECT h.CUST_NO, h.LYL_NO, h.TEL_NO, h.CRD_L4, s.STR_NM FROM SALE_HDR h "
        "JOIN STR_MST s ON s.STR_CD = h.STR_CD WHERE h.STR_CD = ? AND h.TXN_NO = ?",
        (store, txn),
    )
    assert cust.strip() == ""
    assert lyl.strip() == s["loyalty_no"]
    assert tel.strip() == "07700 900202"
    assert l4 == s["card_last4"]
    assert name.rstrip() == s["store_name"] and name != name.rstrip()  # CHAR padding
    assert len(_rows(demo.pos, "SELECT 1 FROM SALE_LN WHERE STR_CD = ? AND TXN_NO = ?",
                     (store, txn))) == 2
    orders = _rows(demo.shop, "SELECT o.order_no FROM orders o JOIN customers c "
                   "ON c.id = o.customer_id WHERE c.email = ? ORDER BY o.order_no",
                   (s["email"],))
    assert [o for (o,) in orders] == s["online_orders"]


def test_story_3_double_delivery(demo: DemoFiles) -> None:
    s = STORIES[3]
    store, txn = s["pos_sale"]
    [(ref, dt)] = _rows(demo.pos, "SELECT ORD_REF, TXN_DT FROM SALE_HDR "
                        "WHERE STR_CD = ? AND TXN_NO = ?", (store, txn))
    assert ref == s["order_ref"] and dt == "20251128"
    bookings = _rows(demo.delivery, "SELECT booking_ref, order_ref, status FROM bookings "
                     "ORDER BY booking_ref")
    code = "".join(ch for ch in s["order_ref"] if ch.isalnum()).upper()
    mine = [b for b in bookings if "".join(ch for ch in b[1] if ch.isalnum()).upper() == code]
    assert [b[0] for b in mine] == s["bookings"]
    assert len({b[1] for b in mine}) == 3  # written three different ways
    assert [b[0] for b in mine if b[2] == "delivered"] == s["delivered_bookings"]
    events = _rows(demo.delivery, "SELECT event FROM booking_events WHERE booking_ref = ? "
                   "ORDER BY event_at", ("DLV-88001",))
    assert [e for (e,) in events] == ["booked", "missed", "rescheduled", "cancelled"]


def test_story_4_card_lookup(demo: DemoFiles) -> None:
    s = STORIES[4]
    hits = _rows(demo.pos, "SELECT STR_CD, TXN_NO, LYL_NO FROM SALE_HDR WHERE CRD_L4 = ? "
                 "AND TXN_DT = ? AND TOT_PNC = ?", (s["card_last4"], "20251118", 8999))
    assert [(h[0], h[1]) for h in hits] == [s["pos_sale"]]
    assert hits[0][2] == s["loyalty_no"]
    [(cust_no,)] = _rows(demo.pos, "SELECT CUST_NO FROM CUST_MST WHERE LYL_NO = ?",
                         (s["loyalty_no"],))
    assert cust_no == s["pos_customer_no"]
    crm = json.loads(demo.crm.read_text(encoding="utf-8"))
    waits = {i["channel"]: i["wait_seconds"] for i in crm["interactions"]
             if i["contact_id"] == s["crm_contact"] and i["direction"] == "in"}
    assert waits["phone"] == s["ivr_wait_seconds"]
    assert waits["whatsapp"] == s["whatsapp_wait_seconds"]


def test_story_5_store_customer(demo: DemoFiles) -> None:
    s = STORIES[5]
    sales = _rows(demo.pos, "SELECT STR_CD, TXN_NO FROM SALE_HDR WHERE CUST_NO = ? "
                  "ORDER BY TXN_NO", (s["pos_customer_no"],))
    assert sales == s["pos_sales"]
    crm = json.loads(demo.crm.read_text(encoding="utf-8"))
    contact = next(c for c in crm["contacts"] if c["id"] == s["crm_contact"])
    assert contact["store_customer_no"] == s["pos_customer_no"]
    cases = [c["id"] for c in crm["cases"] if c["contact_id"] == s["crm_contact"]]
    assert cases == s["crm_cases"]


def test_bad_row_and_clock(demo: DemoFiles) -> None:
    rows = _rows(demo.pos, "SELECT STR_CD, TXN_NO FROM SALE_HDR WHERE TXN_DT = '20251399'")
    assert rows == [("0034", 58100)]
    crm = json.loads(demo.crm.read_text(encoding="utf-8"))
    stamps = [i["at"] for i in crm["interactions"]] + [c["updated"] for c in crm["cases"]]
    assert all(datetime.fromisoformat(t) <= NOW for t in stamps)
    # background noise: answers are not the whole database
    assert len(crm["contacts"]) >= 15
    assert _rows(demo.shop, "SELECT count(*) FROM customers")[0][0] >= 10


# ------------------------------------------------------------------------------ the CRM


@pytest.fixture
async def crm(demo: DemoFiles) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    runner, port = await serve_crm(demo.crm, API_KEY)
    try:
        async with aiohttp.ClientSession(headers={"X-Api-Key": API_KEY}) as session:
            yield session, f"http://127.0.0.1:{port}/api/v2"
    finally:
        await runner.cleanup()


async def _get(session: aiohttp.ClientSession, url: str, **params: str) -> dict[str, Any]:
    async with session.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_crm_requires_api_key(crm: tuple[aiohttp.ClientSession, str]) -> None:
    _, base = crm
    async with aiohttp.ClientSession() as anon:
        async with anon.get(f"{base}/contacts") as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
        async with anon.get(f"{base}/contacts", headers={"X-Api-Key": "wrong"}) as response:
            assert response.status == 401


async def test_crm_batches_by_ids(crm: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = crm
    body = await _get(session, f"{base}/contacts", ids="C-1001,C-1005,C-9999")
    assert sorted(c["id"] for c in body["data"]) == ["C-1001", "C-1005"]
    cases = await _get(session, f"{base}/cases", contact_ids="C-1005,C-1001")
    assert sorted(c["id"] for c in cases["data"]) == ["CASE-501", "CASE-550", "CASE-551"]
    inter = await _get(session, f"{base}/interactions", case_ids="CASE-540")
    assert [i["id"] for i in inter["data"]] == ["INT-7401", "INT-7402", "INT-7403", "INT-7404"]


async def test_crm_email_matching(crm: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = crm
    body = await _get(session, f"{base}/contacts", email="ANN.LEE@example.com")
    assert [c["id"] for c in body["data"]] == ["C-1001"]
    body = await _get(session, f"{base}/contacts", email=" annie77@EXAMPLE.net ,x@y.zz")
    assert [c["id"] for c in body["data"]] == ["C-1001"]
    body = await _get(session, f"{base}/contacts", email="jose.garcia@example.org")
    assert [c["id"] for c in body["data"]] == ["C-1002"]
    assert body["data"][0]["first_name"] == "José"


async def test_crm_phone_matching(crm: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = crm
    for phone in ("+447700900505", "07700900505", "07700 900 505"):
        body = await _get(session, f"{base}/contacts", phone=phone)
        assert [c["id"] for c in body["data"]] == ["C-1005"], phone
    # A raw '+' in the query string is a plus, not a space.
    async with session.get(f"{base}/contacts?phone=+442079460311") as response:
        assert [c["id"] for c in (await response.json())["data"]] == ["C-1003"]
    body = await _get(session, f"{base}/contacts", phone="020 7946 0777")
    assert sorted(c["id"] for c in body["data"]) == ["C-1010", "C-1011", "C-1012"]


async def test_crm_other_keys(crm: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = crm
    body = await _get(session, f"{base}/contacts", loyalty="634000020202")
    assert [c["id"] for c in body["data"]] == ["C-1002"]
    body = await _get(session, f"{base}/contacts", store_customer_no="00004711")
    assert [c["id"] for c in body["data"]] == ["C-1005"]
    body = await _get(session, f"{base}/cases", order_ref="BF20250042")
    assert [c["id"] for c in body["data"]] == ["CASE-530"]
    body = await _get(session, f"{base}/cases", order_ref="WEB-100231")
    assert [c["id"] for c in body["data"]] == ["CASE-501"]


async def test_crm_pagination(crm: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = crm
    seen: list[str] = []
    page: int | None = 1
    while page is not None:
        body = await _get(session, f"{base}/contacts", page=str(page), per_page="4")
        assert body["meta"]["page"] == page and body["meta"]["per_page"] == 4
        seen.extend(c["id"] for c in body["data"])
        page = body["meta"]["next_page"]
    everything = await _get(session, f"{base}/contacts")
    assert everything["meta"]["next_page"] is None
    assert seen == [c["id"] for c in everything["data"]]
    assert len(seen) == everything["meta"]["total"]
    capped = await _get(session, f"{base}/interactions", per_page="1000")
    assert capped["meta"]["per_page"] == 100
    async with session.get(f"{base}/contacts", params={"page": "x"}) as response:
        assert response.status == 400
