"""The demo legacy systems: three SQLite databases and the CRM's JSON, built deterministically.

`build_demo(folder)` (re)creates, byte for byte the same on every run (fixed timestamps, no
randomness; base "now" = 2025-12-05T10:00:00Z):

- `shop.db`      the web shop (lower_snake schema, ISO timestamps, decimal money);
- `pos.db`       the store POS (upper-case cryptic names, CHAR padding, YYYYMMDD + HHMM text,
                 integer pence, one-letter status codes);
- `delivery.db`  the delivery system (its own spelling of order numbers, DD/MM/YYYY slots,
                 epoch-second event times);
- `crm.json`     the CRM / helpdesk, served over HTTP by `federation.demo.crm`;
- `warranty.db`  an extended-warranty provider, added by configuration alone (docs/model.md):
                 DD.MM.YYYY dates, one-letter plan and status codes, premiums in cents;
- `exports/loyalty/points_20251130.jsonl.gz`  a loyalty partner's weekly points statement, an
                 export file read by the `files` connector (docs/connectors/files.md), dated by
                 its name; one line is not JSON (skipped, counted, named by `federation check`).

Stories (see /work/shared/STORIES.md) and the values to query them with
======================================================================

=====  =================================================================================
Story  What to query / what must come back
=====  =================================================================================
1      DVD pre-order. Email `ann.lee@example.com` (CRM holds `' Ann.Lee@Example.COM '` and
       `annie77@example.net`). Shop customer 1, order `WEB-100231` (status
       `processing_in_warehouse`, shop `updated_at` 2025-11-21T08:15:00Z), payments: charge
       24.99 GBP card 4242 2025-11-20T19:42:30Z, refund 24.99 2025-11-29T10:55:00Z.
       CRM contact `C-1001`, case `CASE-501` (order_ref `web 100231`, order_status
       `cancelled_refunded`, updated 2025-11-29T11:00:00Z, later than the shop).
       Interactions INT-7101 email in (Ann.Lee@), INT-7102 email out ("stock has arrived"),
       INT-7103 email in (annie77@), INT-7104 facebook in, INT-7105 email out ("cancelled and
       refunded"). Ann also has an older delivered order `WEB-100163`.
2      Trousers in store. Email `jose.garcia@example.org` (shop name "Jose Garcia", CRM
       "José García"). CRM `C-1002` links phone `07700 900 202` (+447700900202) and loyalty
       `6340 0002 0202` (normalized `634000020202`). POS sale store `0034` (MANCHESTER
       ARNDALE), TXN_NO 58213, 2025-11-08 14:32, till 03, no CUST_NO, LYL_NO `634000020202`,
       TEL_NO `07700 900202`, 2 lines (trousers 4500 + belt 1800 = 6300 pence), card `1881`.
       Online orders (shop customer 2): `WEB-100198` delivered, `WEB-100245` shipped.
       Chat INT-7201 (case `CASE-520`).
3      Washer + dryer, Black Friday. POS sale store `0012` (OXFORD STREET) TXN_NO 77120,
       2025-11-28 11:05, CUST_NO `00003021` (ZOE HART; CRM `C-1003` "Zoë Hart", phone
       `+44 20 7946 0311` = POS `020-7946-0311` / `02079460311`), 97800 pence, card `5532`,
       ORD_REF `BF-2025-0042`. Delivery bookings for it, order_ref written
       `bf 2025 0042` / `BF20250042` / `Bf-2025-0042 `:
         `DLV-88001` booked → missed → rescheduled → cancelled (2025-12-02 20:15, night before);
         `DLV-88107` re-booked from the store 2025-12-03 → delivered 2025-12-04 09:40;
         `DLV-88112` carrier auto re-book → delivered 2025-12-04 13:10 (THE DUPLICATE: two
         delivered bookings for one order). Case `CASE-530` (order_ref `bf-2025-0042`),
         interactions INT-7301..INT-7306 (2 phone calls, store visit, tweet, email in,
         email out).
4      Jacket, no receipt. Card last four `4417`, date 2025-11-18, time 16:47, amount 89.99
       (8999 pence) → POS store `0078` (BRISTOL CABOT CIRCUS) TXN_NO 30455, LYL_NO
       `634000040404` → POS CUST_MST `00005120` GRACE OKAFOR and CRM `C-1004` (loyalty
       `634000040404`). Decoys: TXN 30461 same day/amount other card `9034` at 16:52;
       TXN 30102 card `4417` on 2025-11-04 for 2350; TXN 77388 (store 0012) same
       day/time/amount paid cash. Case `CASE-540`; the IVR → chat → WhatsApp chain:
       INT-7401 phone in wait_seconds 1260, INT-7402 chat in wait 540, INT-7403 whatsapp
       in wait 173520 (answered 48h12m later by INT-7404 whatsapp out, 2025-12-03T09:52Z).
5      The phone. POS CUST_MST `00004711` SAMUEL REID (TEL `07700900505`) = CRM `C-1005`
       "Sam Reid" (phone `+44 7700 900505`, store_customer_no `00004711`). Cases
       `CASE-550` (open) and `CASE-551` (solved); interactions INT-7501..INT-7504. POS sales
       for CUST_NO 00004711 at store `0056` (LEEDS TRINITY): TXN 41002 (phone, 2025-10-12),
       41377 (accessories, 2025-11-02), 41590 (refund, STAT_CD 'R', 2025-11-15).
=====  =================================================================================

Background noise and traps
--------------------------
- Household phone: Peter, Mary and Lucy Wilson share `020 7946 0777` (shop `020 7946 0777`
  and `02079460777`, POS `+44 20 7946 0777` and `020 7946 0777`, CRM in three formats) but
  are three different people with different emails: a phone match alone must not merge them.
- Accents: José García / Jose Garcia, Zoë Hart / ZOE HART, Chloé Dubois / CHLOE DUBOIS,
  Sofia Martínez / Sofia Martinez.
- THE BAD ROW: POS SALE_HDR store `0034` TXN_NO 58100 (Liam Walsh, CUST_NO `00006001`) has
  TXN_DT `20251399`, which is not a date. It is in no story answer.
- A void sale (STAT_CD 'V'): store `0078` TXN_NO 30200.

Value formats (for the gateway mapping)
---------------------------------------
- Shop money columns are `NUMERIC(10,2)`: SQLite's NUMERIC affinity stores '24.99' as REAL
  24.99 and '25.00' as INTEGER 25 (convert with `Decimal(str(v))`). Refunds are payment rows
  with `kind = 'refund'` and a positive `amount`.
- POS: CHAR columns are padded with trailing spaces (strip them); blank CUST_NO / LYL_NO /
  CRD_L4 / ORD_REF / TEL_NO are all spaces; money is integer pence; local time Europe/London.
- Delivery: `slot_start` 'DD/MM/YYYY HH:MM' local Europe/London; `booking_events.event_at`
  integer epoch seconds (UTC); events use the status vocabulary (booked, missed,
  rescheduled, cancelled, delivered).
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["NOW", "STORIES", "DemoFiles", "build_demo"]

NOW = datetime(2025, 12, 5, 10, 0, 0, tzinfo=UTC)
"""The demo's fixed "now"; every timestamp in the data is before it."""


@dataclass(frozen=True)
class DemoFiles:
    """Where `build_demo` wrote each legacy system."""

    folder: Path
    shop: Path
    pos: Path
    delivery: Path
    crm: Path
    warranty: Path
    loyalty: Path


# Values tests and example queries use (see the module docstring for the narrative).
STORIES: dict[int, dict[str, Any]] = {
    1: {
        "email": "ann.lee@example.com",
        "messy_email": " Ann.Lee@Example.COM ",
        "second_email": "annie77@example.net",
        "shop_customer_id": 1,
        "order_no": "WEB-100231",
        "crm_contact": "C-1001",
        "crm_case": "CASE-501",
        "interactions": ["INT-7101", "INT-7102", "INT-7103", "INT-7104", "INT-7105"],
        "card_last4": "4242",
    },
    2: {
        "email": "jose.garcia@example.org",
        "phone": "+447700900202",
        "loyalty_no": "634000020202",
        "crm_contact": "C-1002",
        "crm_case": "CASE-520",
        "pos_sale": ("0034", 58213),
        "store_name": "MANCHESTER ARNDALE",
        "online_orders": ["WEB-100198", "WEB-100245"],
        "card_last4": "1881",
    },
    3: {
        "order_ref": "BF-2025-0042",
        "pos_sale": ("0012", 77120),
        "pos_customer_no": "00003021",
        "phone": "+442079460311",
        "crm_contact": "C-1003",
        "crm_case": "CASE-530",
        "bookings": ["DLV-88001", "DLV-88107", "DLV-88112"],
        "delivered_bookings": ["DLV-88107", "DLV-88112"],
    },
    4: {
        "card_last4": "4417",
        "date": "2025-11-18",
        "time": "16:47",
        "amount": "89.99",
        "pos_sale": ("0078", 30455),
        "loyalty_no": "634000040404",
        "pos_customer_no": "00005120",
        "crm_contact": "C-1004",
        "crm_case": "CASE-540",
        "ivr_wait_seconds": 1260,
        "whatsapp_wait_seconds": 173520,
    },
    5: {
        "pos_customer_no": "00004711",
        "phone": "+447700900505",
        "crm_contact": "C-1005",
        "crm_cases": ["CASE-550", "CASE-551"],
        "pos_sales": [("0056", 41002), ("0056", 41377), ("0056", 41590)],
    },
}

BAD_ROW = ("0034", 58100, "20251399")
HOUSEHOLD_PHONE = "+442079460777"


def _epoch(text: str) -> int:
    """'2025-12-01T12:00' (UTC) → epoch seconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _pad(value: str | None, width: int) -> str:
    """CHAR(width) as the POS stores it: right-padded with spaces (blank when None)."""
    return (value or "").ljust(width)


# --------------------------------------------------------------------------------------------
# shop.db: the web shop
# --------------------------------------------------------------------------------------------

SHOP_SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    full_name TEXT NOT NULL,
    phone TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    total NUMERIC(10,2) NOT NULL,
    currency TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price NUMERIC(10,2) NOT NULL
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    card_last4 TEXT,
    amount NUMERIC(10,2) NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_customers_email ON customers(email);
CREATE INDEX ix_orders_customer ON orders(customer_id);
CREATE INDEX ix_items_order ON order_items(order_id);
CREATE INDEX ix_payments_order ON payments(order_id);
"""

# id, email, full_name, phone, created_at, updated_at
SHOP_CUSTOMERS: list[tuple[int, str, str, str | None, str, str]] = [
    # Story 1: Ann Lee (CRM has this email as ' Ann.Lee@Example.COM ' plus a second one)
    (1, "ann.lee@example.com", "Ann Lee", "+44 7700 900101",
     "2023-03-14T10:02:11Z", "2025-11-20T19:40:00Z"),
    # Story 2: José García, written without accents here
    (2, "jose.garcia@example.org", "Jose Garcia", "07700900202",
     "2022-06-01T08:30:00Z", "2025-11-25T08:30:00Z"),
    # Background
    (3, "liam.walsh@example.com", "Liam Walsh", "07700 900611",
     "2024-01-09T12:00:00Z", "2025-09-12T18:00:00Z"),
    (4, "olivia.brown@example.org", "Olivia Brown", "+447700900612",
     "2024-02-17T09:15:00Z", "2025-10-15T10:00:00Z"),
    (5, "noah.evans@example.net", "Noah Evans", None,
     "2024-05-22T16:40:00Z", "2025-10-30T11:20:00Z"),
    (6, "amelia.hughes@example.com", "Amelia Hughes", "020 7946 0615",
     "2024-07-03T07:55:00Z", "2025-11-12T09:00:00Z"),
    # Household: Peter and Mary Wilson share the home phone (also Lucy in POS/CRM)
    (7, "p.wilson@example.com", "Peter Wilson", "020 7946 0777",
     "2023-11-30T20:00:00Z", "2025-11-03T12:00:00Z"),
    (8, "mary.wilson@example.com", "Mary Wilson", "02079460777",
     "2024-03-08T13:45:00Z", "2025-12-01T15:10:00Z"),
    (9, "sofia.martinez@example.org", "Sofia Martinez", "07700 900619",
     "2024-08-19T10:10:00Z", "2025-11-16T14:00:00Z"),
    (10, "mia.robinson@example.net", "Mia Robinson", "07700900620",
     "2025-01-05T11:11:00Z", "2025-11-29T17:30:00Z"),
    (11, "harry.clarke@example.com", "Harry Clarke", None,
     "2025-02-14T18:20:00Z", "2025-11-08T09:45:00Z"),
]

# id, order_no, customer_id, status, placed_at, currency, updated_at, items, payments
# items: (sku, name, qty, unit_price); payments: (kind, method, last4, created_at)
ShopOrder = tuple[
    int, str, int, str, str, str, str,
    list[tuple[str, str, int, str]],
    list[tuple[str, str, str | None, str]],
]
SHOP_ORDERS: list[ShopOrder] = [
    # Story 1: the DVD pre-order. Still "processing_in_warehouse" in the shop (never updated
    # after 2025-11-21) although the payment system wrote a refund row on 2025-11-29.
    (1, "WEB-100231", 1, "processing_in_warehouse", "2025-11-20T19:42:00+00:00", "GBP",
     "2025-11-21T08:15:00Z",
     [("DVD-88231", "The Long Winter (DVD, pre-order)", 1, "24.99")],
     [("charge", "card", "4242", "2025-11-20T19:42:30Z"),
      ("refund", "card", "4242", "2025-11-29T10:55:00Z")]),
    # Story 1: Ann's older, uneventful order
    (2, "WEB-100163", 1, "delivered", "2025-08-02T11:05:00+01:00", "GBP",
     "2025-08-05T13:00:00Z",
     [("BK-20931", "Garden Birds of Britain (hardback)", 1, "18.00"),
      ("CRD-0112", "Greeting card pack", 2, "3.50")],
     [("charge", "card", "4242", "2025-08-02T10:05:20Z")]),
    # Story 2: José's online orders (the chat agent can see these)
    (3, "WEB-100198", 2, "delivered", "2025-10-03T20:11:00+01:00", "GBP",
     "2025-10-07T14:02:00Z",
     [("SHR-OXF-15-WHT", "Oxford shirt white 15", 2, "29.99")],
     [("charge", "card", "1881", "2025-10-03T19:11:40Z")]),
    (4, "WEB-100245", 2, "shipped", "2025-11-25T08:30:00+00:00", "GBP",
     "2025-11-26T16:00:00Z",
     [("SCK-WOOL-3PK", "Wool socks (3 pack)", 1, "15.00"),
      ("TIE-SLK-NVY", "Silk tie navy", 1, "20.00")],
     [("charge", "paypal", None, "2025-11-25T08:30:35Z")]),
    # Background
    (5, "WEB-100150", 3, "delivered", "2025-09-08T09:00:00+01:00", "GBP",
     "2025-09-12T18:00:00Z",
     [("HD-CTN-L-GRY", "Cotton hoodie grey L", 1, "39.00")],
     [("charge", "card", "2290", "2025-09-08T08:00:30Z")]),
    (6, "WEB-100177", 4, "cancelled", "2025-09-30T22:14:00+01:00", "GBP",
     "2025-10-01T09:00:00Z",
     [("LMP-DSK-BRS", "Desk lamp brass", 1, "45.00")],
     []),
    (7, "WEB-100189", 4, "delivered", "2025-10-10T12:00:00+01:00", "GBP",
     "2025-10-15T10:00:00Z",
     [("MUG-STN-4", "Stoneware mugs (set of 4)", 1, "24.00")],
     [("charge", "card", "6011", "2025-10-10T11:00:10Z")]),
    (8, "WEB-100202", 5, "refunded", "2025-10-18T15:45:00+01:00", "GBP",
     "2025-10-30T11:20:00Z",
     [("HP-BT-BLK", "Bluetooth headphones black", 1, "79.99")],
     [("charge", "card", "3005", "2025-10-18T14:45:12Z"),
      ("refund", "card", "3005", "2025-10-30T11:19:00Z")]),
    (9, "WEB-100210", 6, "shipped", "2025-11-10T10:30:00+00:00", "GBP",
     "2025-11-12T09:00:00Z",
     [("TWL-BTH-2PK", "Bath towels (2 pack)", 2, "22.50")],
     [("charge", "card", "8120", "2025-11-10T10:30:25Z")]),
    (10, "WEB-100214", 7, "delivered", "2025-10-28T19:00:00+00:00", "GBP",
     "2025-11-03T12:00:00Z",
     [("KTL-1.7-STL", "Kettle 1.7L steel", 1, "34.99")],
     [("charge", "card", "7002", "2025-10-28T19:00:40Z")]),
    (11, "WEB-100220", 8, "processing_in_warehouse", "2025-12-01T15:05:00+00:00", "GBP",
     "2025-12-01T15:10:00Z",
     [("SCF-CSH-RED", "Cashmere scarf red", 1, "65.00")],
     [("charge", "card", "7719", "2025-12-01T15:05:30Z")]),
    (12, "WEB-100226", 9, "delivered", "2025-11-12T08:45:00+00:00", "GBP",
     "2025-11-16T14:00:00Z",
     [("BTL-WTR-750", "Water bottle 750ml", 3, "12.00")],
     [("charge", "card", "5150", "2025-11-12T08:45:15Z")]),
    (13, "WEB-100238", 10, "shipped", "2025-11-27T21:00:00+00:00", "GBP",
     "2025-11-29T17:30:00Z",
     [("BT-CHL-6-TAN", "Chelsea boots tan 6", 1, "110.00")],
     [("charge", "card", "0944", "2025-11-27T21:00:20Z")]),
    (14, "WEB-100240", 11, "delivered", "2025-11-02T13:13:00+00:00", "GBP",
     "2025-11-08T09:45:00Z",
     [("GLV-LTH-M", "Leather gloves M", 1, "28.00")],
     [("charge", "card", "6363", "2025-11-02T13:13:40Z")]),
]


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _build_shop(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(SHOP_SCHEMA)
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", SHOP_CUSTOMERS)
        item_id = 0
        payment_id = 0
        for order_id, order_no, cust, status, placed, cur, updated, items, pays in SHOP_ORDERS:
            total = sum((Decimal(price) * qty for _, _, qty, price in items), Decimal(0))
            con.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (order_id, order_no, cust, status, placed, _money(total), cur, updated),
            )
            for sku, name, qty, price in items:
                item_id += 1
                con.execute(
                    "INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)",
                    (item_id, order_id, sku, name, qty, price),
                )
            for kind, method, last4, created in pays:
                payment_id += 1
                con.execute(
                    "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (payment_id, order_id, kind, method, last4, _money(total), cur, created),
                )
        con.commit()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# pos.db: the store POS (legacy)
# --------------------------------------------------------------------------------------------

POS_SCHEMA = """
CREATE TABLE STR_MST (
    STR_CD CHAR(4) NOT NULL PRIMARY KEY,
    STR_NM CHAR(30) NOT NULL,
    CITY CHAR(20) NOT NULL
);
CREATE TABLE CUST_MST (
    CUST_NO CHAR(8) NOT NULL PRIMARY KEY,
    FRST_NM CHAR(20) NOT NULL,
    LST_NM CHAR(20) NOT NULL,
    TEL_NO CHAR(16) NOT NULL,
    LYL_NO CHAR(12) NOT NULL,
    UPD_DT CHAR(8) NOT NULL
);
CREATE TABLE SALE_HDR (
    STR_CD CHAR(4) NOT NULL,
    TXN_NO INTEGER NOT NULL,
    TXN_DT CHAR(8) NOT NULL,
    TXN_TM CHAR(4) NOT NULL,
    TILL_NO CHAR(2) NOT NULL,
    CUST_NO CHAR(8) NOT NULL,
    LYL_NO CHAR(12) NOT NULL,
    TEL_NO CHAR(16) NOT NULL,
    TOT_PNC INTEGER NOT NULL,
    STAT_CD CHAR(1) NOT NULL,
    TNDR_CD CHAR(2) NOT NULL,
    CRD_L4 CHAR(4) NOT NULL,
    ORD_REF CHAR(12) NOT NULL,
    PRIMARY KEY (STR_CD, TXN_NO)
);
CREATE TABLE SALE_LN (
    STR_CD CHAR(4) NOT NULL,
    TXN_NO INTEGER NOT NULL,
    LN_NO INTEGER NOT NULL,
    SKU_CD CHAR(16) NOT NULL,
    ITM_DESC CHAR(30) NOT NULL,
    QTY INTEGER NOT NULL,
    UNIT_PNC INTEGER NOT NULL,
    PRIMARY KEY (STR_CD, TXN_NO, LN_NO)
);
CREATE INDEX IX_SALE_CUST ON SALE_HDR(CUST_NO);
CREATE INDEX IX_SALE_LYL ON SALE_HDR(LYL_NO);
CREATE INDEX IX_SALE_CRD ON SALE_HDR(CRD_L4, TXN_DT);
CREATE INDEX IX_CUST_LYL ON CUST_MST(LYL_NO);
"""

POS_STORES = [
    ("0012", "OXFORD STREET", "LONDON"),
    ("0034", "MANCHESTER ARNDALE", "MANCHESTER"),
    ("0056", "LEEDS TRINITY", "LEEDS"),
    ("0078", "BRISTOL CABOT CIRCUS", "BRISTOL"),
]

# CUST_NO, FRST_NM, LST_NM, TEL_NO, LYL_NO, UPD_DT (the POS drops accents and shouts)
POS_CUSTOMERS = [
    ("00003021", "ZOE", "HART", "02079460311", "", "20251128"),  # story 3
    ("00004711", "SAMUEL", "REID", "07700900505", "", "20251115"),  # story 5
    ("00005120", "GRACE", "OKAFOR", "07700-900-404", "634000040404", "20240611"),  # story 4
    ("00006001", "LIAM", "WALSH", "07700 900611", "634000061100", "20250302"),
    ("00006002", "PETER", "WILSON", "+44 20 7946 0777", "634000077701", "20231130"),  # household
    ("00006003", "LUCY", "WILSON", "020 7946 0777", "", "20250820"),  # household
    ("00006004", "HARRY", "CLARKE", "", "634000062400", "20250214"),
    ("00006005", "CHLOE", "DUBOIS", "07700900625", "", "20250910"),
]

# STR_CD, TXN_NO, TXN_DT, TXN_TM, TILL_NO, CUST_NO, LYL_NO, TEL_NO, STAT_CD, TNDR_CD, CRD_L4,
# ORD_REF, lines (SKU_CD, ITM_DESC, QTY, UNIT_PNC); TOT_PNC is the sum of the lines.
PosSale = tuple[
    str, int, str, str, str, str, str, str, str, str, str, str, list[tuple[str, str, int, int]]
]
POS_SALES: list[PosSale] = [
    # Story 2: José's trousers. Loyalty card and phone, no CUST_NO, no email.
    ("0034", 58213, "20251108", "1432", "03", "", "634000020202", "07700 900202",
     "C", "CC", "1881", "",
     [("TRS-SLIM-32-BLK", "SLIM TROUSERS BLACK 32R", 1, 4500),
      ("BLT-LTH-BRN", "LEATHER BELT BROWN", 1, 1800)]),
    # Story 3: Black Friday washer + dryer, delivery order BF-2025-0042
    ("0012", 77120, "20251128", "1105", "07", "00003021", "", "020-7946-0311",
     "C", "CC", "5532", "BF-2025-0042",
     [("WM-8KG-WHT", "WASHING MACHINE 8KG WHITE", 1, 44900),
      ("TD-9KG-HP", "TUMBLE DRYER 9KG HEAT PUMP", 1, 52900)]),
    # Story 3: Zoë's earlier small purchase
    ("0012", 76001, "20250914", "1730", "02", "00003021", "", "",
     "C", "CA", "", "",
     [("CUP-ESP-2", "ESPRESSO CUPS X2", 1, 1200)]),
    # Story 4: the jacket (no receipt): card 4417, 18/11/2025 16:47, £89.99
    ("0078", 30455, "20251118", "1647", "02", "", "634000040404", "",
     "C", "CC", "4417", "",
     [("JKT-QLT-M-NVY", "QUILTED JACKET NAVY M", 1, 8999)]),
    # Story 4 decoys: same day and amount with another card; same card another day;
    # same day/time/amount in another store paid cash.
    ("0078", 30461, "20251118", "1652", "02", "", "", "",
     "C", "CC", "9034", "",
     [("JKT-QLT-L-NVY", "QUILTED JACKET NAVY L", 1, 8999)]),
    ("0078", 30102, "20251104", "1210", "01", "", "", "",
     "C", "CC", "4417", "",
     [("SCF-WOOL-GRY", "WOOL SCARF GREY", 1, 2350)]),
    ("0012", 77388, "20251118", "1647", "04", "", "", "",
     "C", "CA", "", "",
     [("JKT-QLT-S-BLK", "QUILTED JACKET BLACK S", 1, 8999)]),
    # Story 5: Samuel Reid, CUST_NO 00004711
    ("0056", 41002, "20251012", "1118", "01", "00004711", "", "07700900505",
     "C", "CC", "7781", "",
     [("PH-X12-128-BLK", "PHONE X12 128GB BLACK", 1, 59900)]),
    ("0056", 41377, "20251102", "1530", "02", "00004711", "", "07700900505",
     "C", "CC", "7781", "",
     [("SCR-PRT-X12", "SCREEN PROTECTOR X12", 1, 1499),
      ("CSE-X12-CLR", "PHONE CASE X12 CLEAR", 1, 1999)]),
    ("0056", 41590, "20251115", "0945", "01", "00004711", "", "07700900505",
     "R", "CC", "7781", "",
     [("CSE-X12-CLR", "PHONE CASE X12 CLEAR", 1, 1999)]),
    # Background
    ("0034", 58002, "20251021", "1301", "01", "00006001", "634000061100", "",
     "C", "CA", "", "",
     [("TEE-CRW-M-WHT", "CREW T-SHIRT WHITE M", 3, 800)]),
    # THE BAD ROW: TXN_DT 20251399 is not a date (month 13, day 99). No story uses it.
    ("0034", 58100, "20251399", "1744", "02", "00006001", "634000061100", "",
     "C", "CC", "2290", "",
     [("JNS-STR-32-IND", "STRAIGHT JEANS INDIGO 32", 1, 4900)]),
    # Household: Peter (with a home delivery) and Lucy Wilson, same phone
    ("0012", 77015, "20251115", "1020", "01", "00006002", "634000077701", "+44 20 7946 0777",
     "C", "CC", "7002", "HB-2025-0031",
     [("FRG-FF-60-SLV", "FRIDGE FREEZER 60CM SILVER", 1, 64900)]),
    ("0012", 77210, "20251130", "1555", "03", "00006003", "", "020 7946 0777",
     "C", "CA", "", "",
     [("NTB-A5-DOT", "NOTEBOOK A5 DOTTED", 2, 650),
      ("PEN-GEL-BLK", "GEL PEN BLACK", 4, 199)]),
    ("0056", 41120, "20251019", "1205", "02", "00006004", "634000062400", "",
     "C", "CC", "6363", "",
     [("UMB-CMP-BLK", "COMPACT UMBRELLA BLACK", 1, 1500)]),
    ("0078", 30333, "20251125", "1114", "01", "00006005", "", "07700900625",
     "C", "CC", "3318", "",
     [("BAG-TOTE-CNV", "CANVAS TOTE BAG", 1, 2200)]),
    # A voided sale, anonymous
    ("0078", 30200, "20251110", "0931", "01", "", "", "",
     "V", "CC", "5150", "",
     [("SNG-AVI-GLD", "AVIATOR SUNGLASSES GOLD", 1, 12000)]),
    # Anonymous cash sales
    ("0034", 58301, "20251129", "1015", "01", "", "", "",
     "C", "CA", "", "",
     [("SCK-WOOL-3PK", "WOOL SOCKS 3PK", 2, 1500)]),
    ("0056", 41601, "20251201", "1644", "02", "", "", "",
     "C", "CC", "0901", "",
     [("GLV-LTH-M", "LEATHER GLOVES M", 1, 2800)]),
]


def _build_pos(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(POS_SCHEMA)
        con.executemany(
            "INSERT INTO STR_MST VALUES (?, ?, ?)",
            [(cd, _pad(nm, 30), _pad(city, 20)) for cd, nm, city in POS_STORES],
        )
        con.executemany(
            "INSERT INTO CUST_MST VALUES (?, ?, ?, ?, ?, ?)",
            [
                (no, _pad(first, 20), _pad(last, 20), _pad(tel, 16), _pad(lyl, 12), upd)
                for no, first, last, tel, lyl, upd in POS_CUSTOMERS
            ],
        )
        for sale in POS_SALES:
            store, txn, dt, tm, till, cust, lyl, tel, stat, tndr, l4, ref, lines = sale
            total = sum(qty * unit for _, _, qty, unit in lines)
            con.execute(
                "INSERT INTO SALE_HDR VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (store, txn, dt, tm, till, _pad(cust, 8), _pad(lyl, 12), _pad(tel, 16),
                 total, stat, tndr, _pad(l4, 4), _pad(ref, 12)),
            )
            con.executemany(
                "INSERT INTO SALE_LN VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (store, txn, n, _pad(sku, 16), _pad(desc, 30), qty, unit)
                    for n, (sku, desc, qty, unit) in enumerate(lines, start=1)
                ],
            )
        con.commit()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# delivery.db: the delivery system
# --------------------------------------------------------------------------------------------

DELIVERY_SCHEMA = """
CREATE TABLE bookings (
    booking_ref TEXT PRIMARY KEY,
    order_ref TEXT NOT NULL,
    carrier TEXT NOT NULL,
    status TEXT NOT NULL,
    slot_start TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE booking_events (
    id INTEGER PRIMARY KEY,
    booking_ref TEXT NOT NULL REFERENCES bookings(booking_ref),
    event_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    note TEXT
);
CREATE INDEX ix_bookings_order ON bookings(order_ref);
CREATE INDEX ix_events_booking ON booking_events(booking_ref);
"""

# booking_ref, order_ref (as the delivery system writes it), carrier, status, slot_start,
# updated_at, events (UTC ISO minute, event, note)
Booking = tuple[str, str, str, str, str, str, list[tuple[str, str, str | None]]]
BOOKINGS: list[Booking] = [
    # Story 3, booking 1: booked on Black Friday, missed, rescheduled, cancelled night before
    ("DLV-88001", "bf 2025 0042", "SwiftHaul", "cancelled", "03/12/2025 08:00",
     "2025-12-02T20:15:00Z",
     [("2025-11-28T11:10", "booked", "Booked at till 07, slot 01/12/2025 08:00-12:00"),
      ("2025-12-01T12:00", "missed", "Slot 08:00-12:00 missed: no two-person crew"),
      ("2025-12-01T12:40", "rescheduled", "New slot 03/12/2025 08:00-12:00"),
      ("2025-12-02T20:15", "cancelled", "Cancelled by depot: vehicle unavailable")]),
    # Story 3, booking 2: re-booked from the store the next morning, delivered
    ("DLV-88107", "BF20250042", "SwiftHaul", "delivered", "04/12/2025 08:00",
     "2025-12-04T09:40:00Z",
     [("2025-12-03T10:05", "booked", "Re-booked in store 0012 by staff"),
      ("2025-12-04T09:40", "delivered", "Washer + dryer installed, signed Z HART")]),
    # Story 3, booking 3: the carrier's automatic re-book of the cancelled job, also delivered
    ("DLV-88112", "Bf-2025-0042 ", "SwiftHaul", "delivered", "04/12/2025 12:00",
     "2025-12-04T13:10:00Z",
     [("2025-12-02T20:16", "booked", "Auto re-book after cancellation of DLV-88001"),
      ("2025-12-04T13:10", "delivered", "Washer + dryer left with customer, signed HART")]),
    # Background
    ("DLV-87010", "web100198", "ParcelNet", "delivered", "06/10/2025 09:00",
     "2025-10-07T14:02:00Z",
     [("2025-10-04T07:00", "booked", None),
      ("2025-10-07T14:02", "delivered", "Left in porch")]),
    ("DLV-87555", "WEB 100214", "ParcelNet", "delivered", "01/11/2025 09:00",
     "2025-11-03T12:00:00Z",
     [("2025-10-29T07:00", "booked", None),
      ("2025-11-01T11:30", "missed", "No access"),
      ("2025-11-01T12:00", "rescheduled", "New slot 03/11/2025 09:00"),
      ("2025-11-03T12:00", "delivered", None)]),
    ("DLV-88020", "hb 2025 0031", "SwiftHaul", "delivered", "20/11/2025 07:00",
     "2025-11-20T10:15:00Z",
     [("2025-11-15T10:25", "booked", "Booked at till 01"),
      ("2025-11-20T10:15", "delivered", "Old fridge taken away")]),
    ("DLV-88140", "WEB-100245", "ParcelNet", "booked", "06/12/2025 09:00",
     "2025-11-26T16:00:00Z",
     [("2025-11-26T16:00", "booked", None)]),
    ("DLV-88151", "WEB100238", "ParcelNet", "rescheduled", "08/12/2025 13:00",
     "2025-12-03T18:00:00Z",
     [("2025-11-29T17:30", "booked", None),
      ("2025-12-03T18:00", "rescheduled", "Customer asked for a later day")]),
]


def _build_delivery(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(DELIVERY_SCHEMA)
        event_id = 0
        for ref, order_ref, carrier, status, slot, updated, events in BOOKINGS:
            con.execute(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?)",
                (ref, order_ref, carrier, status, slot, updated),
            )
            for at, event, note in events:
                event_id += 1
                con.execute(
                    "INSERT INTO booking_events VALUES (?, ?, ?, ?, ?)",
                    (event_id, ref, _epoch(at), event, note),
                )
        con.commit()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# crm.json: the CRM / helpdesk
# --------------------------------------------------------------------------------------------


def _contact(
    cid: str, first: str, last: str, emails: Sequence[str], phone: str | None,
    loyalty: str | None, store_no: str | None, updated: str,
) -> dict[str, Any]:
    return {
        "id": cid, "first_name": first, "last_name": last, "emails": list(emails),
        "phone": phone, "loyalty_no": loyalty, "store_customer_no": store_no,
        "updated": updated,
    }


CRM_CONTACTS: list[dict[str, Any]] = [
    # Story 1: two email addresses, one the shop's in other case and with spaces
    _contact("C-1001", "Ann", "Lee", [" Ann.Lee@Example.COM ", "annie77@example.net"],
             "07700 900101", None, None, "2025-11-29T11:00:00Z"),
    # Story 2: links email, phone (other format than the POS) and loyalty number
    _contact("C-1002", "José", "García", ["Jose.Garcia@Example.org"], "07700 900 202",
             "6340 0002 0202", None, "2025-11-24T12:30:00Z"),
    # Story 3: linked to the POS customer by phone only
    _contact("C-1003", "Zoë", "Hart", ["zoe.hart@example.com"], "+44 20 7946 0311",
             None, None, "2025-12-05T09:00:00Z"),
    # Story 4: linked to the jacket sale by loyalty number
    _contact("C-1004", "Grace", "Okafor", ["grace.okafor@example.org"], "+447700900404",
             "634000040404", None, "2025-12-03T09:52:00Z"),
    # Story 5: the store's customer 00004711
    _contact("C-1005", "Sam", "Reid", ["sam.reid@example.com"], "+44 7700 900505",
             None, "00004711", "2025-12-02T16:00:00Z"),
    # Background. The Wilson household shares one phone, in three formats.
    _contact("C-1010", "Peter", "Wilson", ["p.wilson@example.com"], "+44 20 7946 0777",
             "634000077701", "00006002", "2025-11-20T10:30:00Z"),
    _contact("C-1011", "Mary", "Wilson", ["MARY.WILSON@example.com"], "020-7946-0777",
             None, None, "2025-12-01T16:00:00Z"),
    _contact("C-1012", "Lucy", "Wilson", ["lucy.w@example.net"], "02079460777",
             None, None, "2025-08-20T12:00:00Z"),
    _contact("C-1013", "Olivia", "Brown", ["olivia.brown@example.org"], "07700 900612",
             None, None, "2025-10-02T09:30:00Z"),
    _contact("C-1014", "Sofia", "Martínez", ["Sofia.Martinez@example.org "], "+447700900619",
             None, None, "2025-11-16T14:05:00Z"),
    _contact("C-1015", "Chloé", "Dubois", ["chloe.dubois@example.net"], "07700 900625",
             None, "00006005", "2025-11-25T12:00:00Z"),
    _contact("C-1016", "Noah", "Evans", ["noah.evans@example.net"], None,
             None, None, "2025-10-30T11:25:00Z"),
    _contact("C-1017", "Mia", "Robinson", ["mia.robinson@example.net"], "07700-900-620",
             None, None, "2025-11-29T18:00:00Z"),
    _contact("C-1018", "Jack", "Lewis", ["jack.lewis@example.com"], "07700 900630",
             None, None, "2025-06-11T10:00:00Z"),
    _contact("C-1019", "Isla", "Thompson", ["isla.t@example.org"], "020 7946 0640",
             None, None, "2025-07-21T15:00:00Z"),
]


def _case(
    cid: str, contact: str, subject: str, status: str, order_ref: str | None,
    order_status: str | None, created: str, updated: str,
) -> dict[str, Any]:
    return {
        "id": cid, "contact_id": contact, "subject": subject, "status": status,
        "order_ref": order_ref, "order_status": order_status, "created": created,
        "updated": updated,
    }


CRM_CASES: list[dict[str, Any]] = [
    # Story 1: the helpdesk believes the order is cancelled and refunded
    _case("CASE-501", "C-1001", "Pre-order DVD not dispatched, payment taken", "solved",
          "web 100231", "cancelled_refunded", "2025-11-27T09:12:00Z", "2025-11-29T11:00:00Z"),
    # Story 2
    _case("CASE-520", "C-1002", "Trousers bought in store split at seam", "closed",
          None, None, "2025-11-24T12:10:00Z", "2025-11-24T12:30:00Z"),
    # Story 3
    _case("CASE-530", "C-1003", "Washer and dryer: missed, cancelled, then delivered twice",
          "open", "bf-2025-0042", "delivered_twice", "2025-12-01T12:30:00Z",
          "2025-12-05T09:00:00Z"),
    # Story 4
    _case("CASE-540", "C-1004", "Exchange jacket bought in store, no receipt", "pending",
          None, None, "2025-12-01T09:21:00Z", "2025-12-03T09:52:00Z"),
    # Story 5
    _case("CASE-550", "C-1005", "Phone screen fault: store says no record of purchase", "open",
          None, None, "2025-11-20T10:00:00Z", "2025-12-02T16:00:00Z"),
    _case("CASE-551", "C-1005", "Refund for phone case returned in store", "solved",
          None, None, "2025-11-16T08:30:00Z", "2025-11-18T12:00:00Z"),
    # Background
    _case("CASE-560", "C-1013", "Refund for cancelled order", "closed",
          "WEB-100177", "cancelled", "2025-10-01T09:30:00Z", "2025-10-02T09:30:00Z"),
    _case("CASE-561", "C-1011", "Change of delivery address", "closed",
          "WEB100220", "processing", "2025-12-01T15:30:00Z", "2025-12-01T16:00:00Z"),
    _case("CASE-562", "C-1016", "Headphones faulty, refund", "solved",
          "web-100202", "refunded", "2025-10-25T10:00:00Z", "2025-10-30T11:25:00Z"),
    _case("CASE-563", "C-1018", "Unsubscribe from newsletter", "closed",
          None, None, "2025-06-11T09:50:00Z", "2025-06-11T10:00:00Z"),
    _case("CASE-564", "C-1010", "Fridge delivery: take away old fridge?", "closed",
          "HB-2025-0031", "delivered", "2025-11-16T09:00:00Z", "2025-11-20T10:30:00Z"),
]


def _interaction(
    iid: str, contact: str, case: str | None, channel: str, direction: str, at: str,
    summary: str, wait: int | None = None, address: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    return {
        "id": iid, "contact_id": contact, "case_id": case, "channel": channel,
        "direction": direction, "at": at, "summary": summary, "wait_seconds": wait,
        "from_address": address, "from_phone": phone,
    }


CRM_INTERACTIONS: list[dict[str, Any]] = [
    # Story 1: two inbound emails from two addresses, a Facebook post, two contradicting replies
    _interaction("INT-7101", "C-1001", "CASE-501", "email", "in", "2025-11-27T09:12:00Z",
                 "Pre-order placed 20 Nov still 'processing in warehouse' and money taken. "
                 "Where is my DVD?", address=" Ann.Lee@Example.COM "),
    _interaction("INT-7102", "C-1001", "CASE-501", "email", "out", "2025-11-27T15:40:00Z",
                 "Warehouse team: good news, stock has arrived and your order will ship "
                 "shortly."),
    _interaction("INT-7103", "C-1001", None, "email", "in", "2025-11-28T10:05:00Z",
                 "Second email: still nothing shipped, please explain.",
                 address="annie77@example.net"),
    _interaction("INT-7104", "C-1001", None, "facebook", "in", "2025-11-28T21:30:00Z",
                 "Public post on brand page: two emails, contradicting answers, money gone.",
                 address="facebook:ann.lee.1987"),
    _interaction("INT-7105", "C-1001", "CASE-501", "email", "out", "2025-11-29T11:00:00Z",
                 "Customer Orders team: supplier cannot supply; your order is cancelled and "
                 "refunded."),
    # Story 2
    _interaction("INT-7201", "C-1002", "CASE-520", "chat", "in", "2025-11-24T12:10:00Z",
                 "Trousers bought in Manchester store split. Agent: can only help with online "
                 "orders, please go back to the store.", wait=95,
                 address="jose.garcia@example.org"),
    _interaction("INT-7202", "C-1002", "CASE-520", "chat", "out", "2025-11-24T12:30:00Z",
                 "Agent closed chat: store purchase, no online order found."),
    # Story 3: calls, a store visit, a tweet and emails about the washer and dryer
    _interaction("INT-7301", "C-1003", "CASE-530", "phone", "in", "2025-12-01T12:30:00Z",
                 "Delivery window 08:00-12:00 missed. Rescheduled to 3 Dec.", wait=840,
                 phone="020 7946 0311"),
    _interaction("INT-7302", "C-1003", "CASE-530", "phone", "in", "2025-12-02T21:05:00Z",
                 "Text says delivery cancelled the night before. Told to re-book in store.",
                 wait=310, phone="02079460311"),
    _interaction("INT-7303", "C-1003", "CASE-530", "store", "in", "2025-12-03T10:00:00Z",
                 "Visited Oxford Street store; staff re-booked delivery for 4 Dec."),
    _interaction("INT-7304", "C-1003", None, "twitter", "in", "2025-12-04T14:00:00Z",
                 "@brand two washing machines and two dryers just turned up. Who collects "
                 "the extra set?", address="@zoe_hart_"),
    _interaction("INT-7305", "C-1003", "CASE-530", "email", "in", "2025-12-04T15:20:00Z",
                 "Second set delivered, please arrange collection.",
                 address="zoe.hart@example.com"),
    _interaction("INT-7306", "C-1003", "CASE-530", "email", "out", "2025-12-05T09:00:00Z",
                 "We are arranging collection of the duplicate delivery."),
    # Story 4: the IVR wait, pushed to chat, then WhatsApp answered 48 hours later
    _interaction("INT-7401", "C-1004", "CASE-540", "phone", "in", "2025-12-01T09:00:00Z",
                 "IVR: 'unusually long wait times'; after 21 minutes told to use web chat.",
                 wait=1260, phone="+447700900404"),
    _interaction("INT-7402", "C-1004", "CASE-540", "chat", "in", "2025-12-01T09:21:00Z",
                 "Chat: cannot exchange a store purchase without receipt; use WhatsApp.",
                 wait=540, address="grace.okafor@example.org"),
    _interaction("INT-7403", "C-1004", "CASE-540", "whatsapp", "in", "2025-12-01T09:40:00Z",
                 "Jacket bought 18 Nov 16:47 Bristol, £89.99, card ending 4417, no receipt.",
                 wait=173520, phone="07700 900404"),
    _interaction("INT-7404", "C-1004", "CASE-540", "whatsapp", "out", "2025-12-03T09:52:00Z",
                 "Reply after 48 hours: please bring the card to the store."),
    # Story 5
    _interaction("INT-7501", "C-1005", "CASE-551", "email", "in", "2025-11-16T08:30:00Z",
                 "Returned phone case in Leeds store, refund not on my card yet.",
                 address="sam.reid@example.com"),
    _interaction("INT-7502", "C-1005", "CASE-550", "phone", "in", "2025-11-20T10:00:00Z",
                 "Phone bought in Leeds store has screen fault; customer services cannot see "
                 "store purchases.", wait=420, phone="07700 900505"),
    _interaction("INT-7503", "C-1005", "CASE-550", "store", "in", "2025-11-22T14:00:00Z",
                 "Store visit: store cannot see the customer services case."),
    _interaction("INT-7504", "C-1005", "CASE-550", "sms", "out", "2025-12-02T16:00:00Z",
                 "We have asked the Leeds store to call you."),
    # Background
    _interaction("INT-7601", "C-1013", "CASE-560", "email", "in", "2025-10-01T09:30:00Z",
                 "When will I get my money back for the lamp?",
                 address="olivia.brown@example.org"),
    _interaction("INT-7602", "C-1011", "CASE-561", "phone", "in", "2025-12-01T15:30:00Z",
                 "Please send the scarf to my work address.", wait=60,
                 phone="020 7946 0777"),
    _interaction("INT-7603", "C-1016", "CASE-562", "chat", "in", "2025-10-25T10:00:00Z",
                 "Headphones stopped charging.", wait=30, address="noah.evans@example.net"),
    _interaction("INT-7604", "C-1018", "CASE-563", "email", "in", "2025-06-11T09:50:00Z",
                 "Unsubscribe me please.", address="jack.lewis@example.com"),
    _interaction("INT-7605", "C-1010", "CASE-564", "phone", "in", "2025-11-16T09:00:00Z",
                 "Will the crew take the old fridge away?", wait=200,
                 phone="+44 20 7946 0777"),
    _interaction("INT-7606", "C-1014", None, "whatsapp", "in", "2025-11-16T14:05:00Z",
                 "Thanks, bottles arrived.", phone="+447700900619"),
    _interaction("INT-7607", "C-1017", None, "twitter", "in", "2025-11-29T18:00:00Z",
                 "Love the boots!", address="@mia_r"),
    _interaction("INT-7608", "C-1019", None, "email", "in", "2025-07-21T15:00:00Z",
                 "Do you ship to Ireland?", address="isla.t@example.org"),
]


def _build_crm(path: Path) -> None:
    document = {
        "contacts": CRM_CONTACTS,
        "cases": CRM_CASES,
        "interactions": CRM_INTERACTIONS,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# warranty.db: the extended-warranty provider (a model the built-in one does not have)
# --------------------------------------------------------------------------------------------

WARRANTY_SCHEMA = """
CREATE TABLE policies (
    policy_no TEXT PRIMARY KEY,
    holder_email TEXT,
    holder_phone TEXT,
    order_ref TEXT,
    product TEXT NOT NULL,
    serial_no TEXT,
    plan TEXT NOT NULL,
    start_date TEXT,
    end_date TEXT,
    status TEXT NOT NULL,
    premium_cents INTEGER,
    currency TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX ix_policies_email ON policies(holder_email);
CREATE INDEX ix_policies_phone ON policies(holder_phone);
CREATE INDEX ix_policies_order ON policies(order_ref);
"""

# policy_no, email, phone, order_ref, product, serial, plan (E extended, A accidental damage),
# start, end (DD.MM.YYYY), status (A active, X expired, C cancelled), premium cents, currency, updated
POLICIES: list[tuple[Any, ...]] = [
    # Story 6: Zoë's washer and dryer (story 3's order) each got a 3-year cover at the till;
    # the provider knows her only by phone, in its own format, and the order in its own spelling.
    ("WP-88410", None, "020 7946 0311", "bf20250042", "Washing machine 9kg", "WM9-55120-ZH", "E",
     "28.11.2025", "27.11.2028", "A", 12900, "GBP", "2025-11-28T11:20:00Z"),
    ("WP-88411", None, "020 7946 0311", "bf20250042", "Tumble dryer 8kg", "TD8-77031-ZH", "A",
     "28.11.2025", "27.11.2027", "A", 8900, "GBP", "2025-11-28T11:20:00Z"),
    # Background: Noah's headphones cover ran out; Peter Wilson cancelled his.
    ("WP-71002", "noah.evans@example.net", None, None, "Bluetooth headphones", "HP-BT-0093", "A",
     "01.03.2024", "28.02.2025", "X", 1500, "GBP", "2025-03-01T00:00:00Z"),
    ("WP-80517", "P.Wilson@Example.com", None, None, "Fridge freezer", "FF-60-1182", "E",
     "20.11.2025", "19.11.2028", "C", 11900, "GBP", "2025-11-25T09:00:00Z"),
]


def _build_warranty(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(WARRANTY_SCHEMA)
        con.executemany("INSERT INTO policies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", POLICIES)
        con.commit()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# The loyalty partner: a weekly JSON Lines statement per card, gzip-compressed, dated by its name.

LOYALTY_POINTS = [
    # card_no (as the partner prints it), points, tier, week_ending
    ("6340 0002 0202", 1240, "Silver", "2025-11-30"),
    ("6340 0004 0404", 310, "Bronze", "2025-11-30"),
]


def _build_loyalty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("points_*"):
        old.unlink()
    lines = [json.dumps({"card_no": card, "points": points, "tier": tier, "week_ending": week})
             for card, points, tier, week in LOYALTY_POINTS]
    lines.insert(1, '{"card_no": "6340 0009 0909", "points": ')  # cut off mid-line by the partner's tool
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    landed = NOW.timestamp()  # landed before the demo's "now": settled, read at start
    os.utime(path, (landed, landed))


# --------------------------------------------------------------------------------------------


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        for candidate in (path, path.with_name(path.name + "-journal")):
            candidate.unlink(missing_ok=True)


def build_demo(folder: Path) -> DemoFiles:
    """(Re)create the five demo systems in `folder`; the same bytes on every call."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(
        folder=folder,
        shop=folder / "shop.db",
        pos=folder / "pos.db",
        delivery=folder / "delivery.db",
        crm=folder / "crm.json",
        warranty=folder / "warranty.db",
        loyalty=folder / "exports" / "loyalty" / "points_20251130.jsonl.gz",
    )
    _remove((files.shop, files.pos, files.delivery, files.crm, files.warranty))
    _build_shop(files.shop)
    _build_pos(files.pos)
    _build_delivery(files.delivery)
    _build_crm(files.crm)
    _build_warranty(files.warranty)
    _build_loyalty(files.loyalty)
    return files
