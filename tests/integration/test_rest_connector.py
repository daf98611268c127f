"""The rest connector against real aiohttp servers on 127.0.0.1 shaped like APIs met in the field."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.rest import RestConnector, RetryLater
from connectors.sdk import (
    Condition,
    ConnectorContext,
    Money,
    SearchRequest,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    matches,
)
from federation.model import builtin_model
from tests.conftest import serve_app as serve

KEY = "s3cret-k3y"
LOG = web.AppKey("log", list)
FLAGS = web.AppKey("flags", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_app() -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        request.app[LOG].append((request.method, request.path, request.query_string))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app[LOG] = []
    app[FLAGS] = {}
    return app


def calls(app: web.Application, path: str) -> list[tuple[str, str, str]]:
    return [c for c in app[LOG] if c[1].startswith(path)]




@asynccontextmanager
async def source(tmp_path: Path, options: dict[str, Any], name: str = "api") -> AsyncIterator[RestConnector]:
    context = ConnectorContext(model=builtin_model(), base_dir=tmp_path)
    connector = RestConnector(name, RestConnector.validate_options(options), context)
    assert connector.problems() == []
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()
        await connector.close()


# (1) HubSpot-like: GET search paged by `paging.next.after`, POST batch read, repeated `email=`.

CONTACTS: list[dict[str, Any]] = [
    {
        "id": str(i),
        "properties": {
            "email": f"User{i}@Example.com",
            "firstname": ("Ann", "Bob", "Cat")[i % 3],
            "lastname": f"Lee{i}",
            "phone": f"07700 900{i:03d}",
        },
    }
    for i in range(1, 26)
]


async def hs_list(request: web.Request) -> web.Response:
    rows = CONTACTS
    if emails := request.query.getall("email", []):
        rows = [r for r in rows if r["properties"]["email"].lower() in emails]
    if prefix := request.query.get("name_prefix"):
        rows = [r for r in rows if r["properties"]["firstname"].lower().startswith(prefix.lower())]
    start = int(request.query.get("after", "0"))
    limit = int(request.query.get("limit", "10"))
    body: dict[str, Any] = {"results": rows[start:start + limit]}
    if start + limit < len(rows):
        body["paging"] = {"next": {"after": str(start + limit), "link": "…"}}
    return web.json_response(body)


async def hs_batch(request: web.Request) -> web.Response:
    body = await request.json()
    assert body["properties"] == ["email"]
    return web.json_response({"status": "COMPLETE",
                              "results": [r for r in CONTACTS if r["id"] in body["ids"]]})


def hubspot() -> web.Application:
    app = new_app()
    app.router.add_get("/crm/v3/objects/contacts", hs_list)
    app.router.add_post("/crm/v3/objects/contacts/batch/read", hs_batch)
    return app


def hubspot_options(base: str, pushdown: bool = True) -> dict[str, Any]:
    search = {"params": {"name": {"param": "name_prefix", "op": "prefix"},
                         "email": {"param": "email", "op": "eq"}}} if pushdown else {}
    return {
        "base_url": base,
        "auth": {"type": "bearer", "token": KEY},
        "entities": {"Customer": {
            "path": "/crm/v3/objects/contacts",
            "records": "results",
            "query": {"limit": "10"},
            "pagination": {"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"},
            "lookup": {
                "id": {"style": "post", "param": "ids", "path": "/crm/v3/objects/contacts/batch/read",
                       "body": {"properties": ["email"]}},
                "keys": {"email": {"style": "repeat", "param": "email", "max_batch": 4}},
            },
            "search": search,
            "id": {"path": "id"},
            "fields": {
                "name": {"paths": ["properties.firstname", "properties.lastname"], "transform": "join"},
                "emails": {"path": "properties.email"},
                "phones": {"path": "properties.phone"},
            },
            "keys": {"email": {"path": "properties.email"}, "phone": {"path": "properties.phone"}},
        }},
    }


async def test_hubspot_cursor_search_returns_every_page(tmp_path: Path) -> None:
    app = hubspot()
    async with serve(app) as base, source(tmp_path, hubspot_options(base)) as api:
        records = await api.search("Customer", SearchRequest())
    assert sorted(int(r.local_id) for r in records) == list(range(1, 26))
    assert len(calls(app, "/crm/v3/objects/contacts")) == 3
    first = next(r for r in records if r.local_id == "1")
    assert first.fields["name"] == "Bob Lee1"
    assert first.keys == {"email": ("user1@example.com",), "phone": ("+447700900001",)}


async def test_hubspot_post_batch_and_repeated_params(tmp_path: Path) -> None:
    app = hubspot()
    async with serve(app) as base, source(tmp_path, hubspot_options(base)) as api:
        by_id = await api.lookup("Customer", "id", ["3", "7", "404"])
        emails = [f"user{i}@example.com" for i in range(1, 10)]
        by_email = await api.lookup("Customer", "key:email", emails)
    assert sorted(r.local_id for r in by_id) == ["3", "7"]
    assert [c[0] for c in calls(app, "/crm/v3/objects/contacts/batch")] == ["POST"]
    assert sorted(int(r.local_id) for r in by_email) == list(range(1, 10))
    email_calls = [c for c in calls(app, "/crm/v3/objects/contacts") if "email=" in c[2]]
    assert len(email_calls) == 3  # 9 values, max_batch 4
    assert email_calls[0][2].count("email=") == 4


async def test_search_pushdown_and_residual_agree(tmp_path: Path) -> None:
    conditions = (Condition("name", "prefix", "ann"), Condition("email", "eq", "user6@example.com"))
    app = hubspot()
    async with serve(app) as base:
        async with source(tmp_path, hubspot_options(base, pushdown=True)) as api:
            caps = api.capabilities().entities["Customer"]
            pushed = await api.search("Customer", SearchRequest(conditions=conditions))
        pushed_calls = len(app[LOG])
        async with source(tmp_path, hubspot_options(base, pushdown=False)) as api:
            everything = await api.search("Customer", SearchRequest(conditions=conditions))
    assert caps.filters == {"name": frozenset({"prefix"}), "email": frozenset({"eq"})}
    assert caps.lookups == frozenset({"id", "key:email"})
    assert pushed_calls == 1 and len(app[LOG]) == 1 + 3
    kept = sorted(r.local_id for r in pushed if matches(r, conditions))
    assert kept == sorted(r.local_id for r in everything if matches(r, conditions)) == ["6"]


async def test_search_limit_stops_paging_when_everything_is_pushed(tmp_path: Path) -> None:
    app = hubspot()
    async with serve(app) as base, source(tmp_path, hubspot_options(base)) as api:
        records = await api.search("Customer", SearchRequest(limit=5))
    assert len(records) >= 5 and len(app[LOG]) == 1


# (2) Salesforce-like: `records`, `done`, relative `nextRecordsUrl`; one GET per id by path.

SF = [{"attributes": {"type": "Contact"}, "Id": f"003A{i:02d}", "Name": f"Person {i}",
       "Email": f"p{i}+crm@example.com",
       "MailingAddress": {"street": f"{i} High St", "city": "Leeds"}} for i in range(1, 13)]


async def sf_query(request: web.Request) -> web.Response:
    start = int(request.match_info.get("locator", "0-0").split("-")[1])
    rows = SF[start:start + 5]
    done = start + 5 >= len(SF)
    body: dict[str, Any] = {"totalSize": len(SF), "done": done, "records": rows}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/v58.0/query/01gX-{start + 5}"
    return web.json_response(body)


async def sf_by_email(request: web.Request) -> web.Response:
    row = next((r for r in SF if r["Email"] == request.match_info["email"]), None)
    if row is None:
        return web.json_response([{"errorCode": "NOT_FOUND"}], status=404)
    return web.json_response(row)


def salesforce() -> web.Application:
    app = new_app()
    app.router.add_get("/services/data/v58.0/query", sf_query)
    app.router.add_get("/services/data/v58.0/query/{locator}", sf_query)
    app.router.add_get("/services/data/v58.0/sobjects/Contact/Email/{email}", sf_by_email)
    return app


def salesforce_options(base: str, max_pages: int = 50) -> dict[str, Any]:
    return {
        "base_url": base + "/",
        "auth": {"type": "bearer", "token": KEY},
        "entities": {"Customer": {
            "path": "/services/data/v58.0/query",
            "query": {"q": "SELECT Id, Name, Email, MailingAddress FROM Contact"},
            "records": "records",
            "pagination": {"type": "next_url", "next_path": "nextRecordsUrl", "done_path": "done",
                           "max_pages": max_pages},
            "lookup": {"keys": {"email": {
                "style": "path", "path": "/services/data/v58.0/sobjects/Contact/Email/{value}",
                "records": "@"}}},
            "id": {"path": "Id"},
            "fields": {"name": {"path": "Name"}, "emails": {"path": "Email"},
                       "addresses": {"path": "[MailingAddress.street, MailingAddress.city]",
                                     "transform": {"join": ", "}}},
            "keys": {"email": {"path": "Email"}},
        }},
    }


async def test_salesforce_next_records_url(tmp_path: Path) -> None:
    app = salesforce()
    async with serve(app) as base, source(tmp_path, salesforce_options(base)) as api:
        records = await api.search("Customer", SearchRequest())
    assert len(records) == 12 and len(app[LOG]) == 3
    assert records[0].fields["addresses"] == ["1 High St, Leeds"]
    assert "q=SELECT" in app[LOG][0][2] and app[LOG][1][2] == ""


async def test_page_cap_stops_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = salesforce()
    with caplog.at_level(logging.WARNING, logger="connectors.rest"):
        async with serve(app) as base, source(tmp_path, salesforce_options(base, 2), "crm") as api:
            records = await api.search("Customer", SearchRequest())
    assert len(records) == 10 and len(app[LOG]) == 2
    assert any("'crm'" in m and "Customer" in m and "max_pages=2" in m for m in caplog.messages)


async def test_path_style_one_call_per_value_and_404_is_a_miss(tmp_path: Path) -> None:
    app = salesforce()
    async with serve(app) as base, source(tmp_path, salesforce_options(base)) as api:
        records = await api.lookup("Customer", "key:email",
                                   ["p2+crm@example.com", "p5+crm@example.com", "nobody@example.com"])
    assert sorted(r.local_id for r in records) == ["003A02", "003A05"]
    assert len(app[LOG]) == 3


async def test_an_endpoint_that_hangs_leaves_the_others_room(tmp_path: Path) -> None:
    """Lookups by email hang (accepted, never answered) and fill what they may of the source's
    `max_concurrency`; a search on another endpoint of the same API still answers at once."""
    app = salesforce()
    release = asyncio.Event()

    @web.middleware
    async def hang(request: web.Request, handler: Handler) -> web.StreamResponse:
        if "/Email/" in request.path:
            await release.wait()
        return await handler(request)

    app.middlewares.append(hang)
    options = {**salesforce_options(base="", max_pages=50), "max_concurrency": 4}
    async with serve(app) as base, source(tmp_path, {**options, "base_url": base + "/"}) as api:
        emails = [f"p{i}+crm@example.com" for i in range(1, 9)]
        stuck = asyncio.ensure_future(api.lookup("Customer", "key:email", emails))
        while len(calls(app, "/services/data/v58.0/sobjects")) < 3:  # the hung endpoint has its share
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        found = await asyncio.wait_for(api.search("Customer", SearchRequest((), (), 100)), timeout=3)
        assert len(found) == len(SF) and asyncio.get_running_loop().time() - started < 1.0
        assert len(calls(app, "/services/data/v58.0/sobjects")) == 3  # 3 of 4 slots, never the 4th
        release.set()
        assert len(await stuck) == 8


# (3) Zendesk-like: absolute `next_page`, 429 with Retry-After, and a Link-header listing.

TICKETS = [{"id": i, "subject": f"Parcel {i} late", "status": ("open", "solved")[i % 2],
            "created_at": f"2024-03-{i:02d}T10:00:00Z",
            "via": {"source": {"from": {"address": f"t{i}@example.com"}}}} for i in range(1, 24)]


async def zd_tickets(request: web.Request) -> web.Response:
    if request.app[FLAGS].get("throttle"):
        return web.json_response({"error": "TooManyRequests"}, status=429, headers={"Retry-After": "7"})
    page = int(request.query.get("page", "1"))
    rows = TICKETS[(page - 1) * 10:page * 10]
    more = page * 10 < len(TICKETS)
    next_page = str(request.url.update_query(page=page + 1)) if more else None
    return web.json_response({"tickets": rows, "next_page": next_page, "count": len(TICKETS)})


async def zd_users(request: web.Request) -> web.Response:
    page = int(request.query.get("page", "1"))
    headers = {"Link": f'</api/v2/users?page={page + 1}>; rel="next"'} if page < 3 else {}
    return web.json_response([{"id": page * 10 + n, "email": f"u{page}{n}@example.com"}
                              for n in range(2)], headers=headers)


async def zd_html(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Please log in</body></html>", content_type="text/html")


async def zd_elsewhere(request: web.Request) -> web.Response:
    return web.json_response({"tickets": TICKETS[:1], "next_page": "http://203.0.113.9/x?page=2"})


def zendesk() -> web.Application:
    app = new_app()
    app.router.add_get("/api/v2/tickets.json", zd_tickets)
    app.router.add_get("/api/v2/users", zd_users)
    app.router.add_get("/api/v2/html", zd_html)
    app.router.add_get("/api/v2/elsewhere", zd_elsewhere)
    return app


def zendesk_options(base: str, path: str = "/api/v2/tickets.json") -> dict[str, Any]:
    return {
        "base_url": base,
        "auth": {"type": "basic", "username": "agent@example.com/token", "password": KEY},
        "entities": {
            "Case": {
                "path": path,
                "records": "tickets",
                "query": {"per_page": "10"},
                "pagination": {"type": "next_url", "next_path": "next_page"},
                "id": {"path": "id"},
                "fields": {"subject": {"path": "subject"}, "status": {"path": "status",
                           "transform": {"enum": {"open": "OPEN", "solved": "RESOLVED"}}},
                           "openedAt": {"path": "created_at"}},
                "keys": {"customerEmail": {"path": "via.source.from.address"}},
            },
            "Customer": {
                "path": "/api/v2/users",
                "pagination": {"type": "link"},
                "id": {"path": "id"},
                "keys": {"email": {"path": "email"}},
            },
        },
    }


async def test_zendesk_absolute_next_page_and_link_header(tmp_path: Path) -> None:
    app = zendesk()
    async with serve(app) as base, source(tmp_path, zendesk_options(base)) as api:
        cases = await api.search("Case", SearchRequest())
        users = await api.search("Customer", SearchRequest())
    assert [int(r.local_id) for r in cases] == list(range(1, 24))
    assert cases[0].fields["status"] == "RESOLVED" and cases[0].raw == {"status": "solved"}
    assert cases[1].fields["status"] == "OPEN"
    assert cases[0].keys == {"customerEmail": ("t1@example.com",)}
    assert len(calls(app, "/api/v2/tickets")) == 3
    assert sorted(int(r.local_id) for r in users) == [10, 11, 20, 21, 30, 31]


async def test_429_is_unavailable_with_retry_after(tmp_path: Path) -> None:
    app = zendesk()
    app[FLAGS]["throttle"] = True
    async with serve(app) as base, source(tmp_path, zendesk_options(base)) as api:
        with pytest.raises(SourceUnavailable) as caught:
            await api.search("Case", SearchRequest())
    assert isinstance(caught.value, RetryLater) and caught.value.retry_after == 7
    assert caught.value.retryable and "HTTP 429" in str(caught.value)
    assert len(app[LOG]) == 1  # no retry here; the core's guard decides


async def test_html_body_names_the_content_type(tmp_path: Path) -> None:
    async with serve(zendesk()) as base, source(tmp_path, zendesk_options(base, "/api/v2/html")) as api:
        with pytest.raises(SourceError) as caught:
            await api.search("Case", SearchRequest())
    assert not isinstance(caught.value, SourceUnavailable)
    assert "text/html" in str(caught.value) and "HTTP 200" in str(caught.value)


async def test_next_page_on_another_origin_is_refused(tmp_path: Path) -> None:
    options = zendesk_options("", "/api/v2/elsewhere")
    async with serve(zendesk()) as base:
        options["base_url"] = base
        async with source(tmp_path, options) as api:
            with pytest.raises(SourceError, match="another origin"):
                await api.search("Case", SearchRequest())


# (4) A legacy ERP: `?ids=1,2,3`, page and offset paging, API-key auth, orders with lines.

ERP = [{"id": i, "email": f"c{i}@example.com", "loyalty": f"lc-{i:05d}",
        "addresses": [{"line1": f"{i} Mill Lane", "city": "York"}, {"line1": "PO Box 1", "city": "Hull"}]}
       for i in range(1, 251)]
ORDERS = [{"no": "BF-1001", "customer": {"email": "c1@example.com"},
           "lines": [{"line_id": "L1", "order": "BF-1001", "sku": "sk-1", "qty": 2, "price_pence": 1250},
                     {"line_id": "L2", "order": "BF-1001", "sku": "sk-9", "qty": 1, "price_pence": 499}],
           "payments": [{"card": {"last4": "4242"}}]}]


def authorized(request: web.Request) -> str | None:
    basic = "Basic " + base64.b64encode(f"erp:{KEY}".encode()).decode()
    checks = {"header": request.headers.get("X-Api-Key") == KEY,
              "query": request.query.get("api_key") == KEY,
              "bearer": request.headers.get("Authorization") == f"Bearer {KEY}",
              "basic": request.headers.get("Authorization") == basic}
    return next((how for how, ok in checks.items() if ok), None)


async def erp_customers(request: web.Request) -> web.Response:
    how = authorized(request)
    if how is None:
        return web.json_response({"error": "bad key"}, status=401)
    request.app[FLAGS].setdefault("auth", []).append(how)
    rows = ERP
    if "ids" in request.query:
        wanted = request.query["ids"].split(",")
        rows = [r for r in ERP if str(r["id"]) in wanted] + [ERP[-1]]  # sloppy API: one extra
    total = len(rows)
    if "page" in request.query:
        size = int(request.query["size"])
        start = (int(request.query["page"]) - 1) * size
        rows = rows[start:start + size]
    if "offset" in request.query:
        start = int(request.query["offset"])
        rows = rows[start:start + int(request.query["limit"])]
    return web.json_response({"data": rows, "meta": {"total": total}})


async def erp_orders(request: web.Request) -> web.Response:
    return web.json_response({"data": ORDERS})


async def erp_slow(request: web.Request) -> web.Response:
    await asyncio.sleep(1)
    return web.json_response({"data": []})


async def erp_broken(request: web.Request) -> web.Response:
    return web.json_response({"error": "boom"}, status=500)


async def erp_odd(request: web.Request) -> web.Response:
    return web.json_response({"data": "maintenance"})


def erp() -> web.Application:
    app = new_app()
    app.router.add_get("/v1/customers", erp_customers)
    app.router.add_get("/v1/orders", erp_orders)
    app.router.add_get("/v1/slow", erp_slow)
    app.router.add_get("/v1/broken", erp_broken)
    app.router.add_get("/v1/odd", erp_odd)
    return app


def erp_options(base: str, auth: dict[str, Any] | None = None, path: str = "/v1/customers",
                pagination: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": base,
        "auth": auth or {"type": "api_key", "header": "X-Api-Key", "value": KEY},
        **extra,
        "entities": {
            "Customer": {
                "path": path,
                "records": "data",
                "pagination": pagination or {"type": "none"},
                "lookup": {"id": {"style": "comma", "param": "ids", "max_batch": 100}},
                "id": {"path": "id"},
                "fields": {"emails": {"path": "email"},
                           "addresses": {"path": "addresses[].join(', ', [line1, city])"},
                           "loyaltyNumbers": {"path": "loyalty"}},
                "keys": {"email": {"path": "email"}, "loyaltyNumber": {"path": "loyalty"}},
            },
            "Purchase": {
                "path": "/v1/orders",
                "records": "data",
                "id": {"path": "no"},
                "fields": {"orderNumber": {"path": "no"},
                           "total": {"path": "sum(lines[].price_pence)", "transform": {"money_minor": "GBP"}}},
                "keys": {"customerEmail": {"path": "customer.email"},
                         "cardLast4": {"path": "payments[0].card.last4"}},
            },
            "LineItem": {
                "path": "/v1/orders",
                "records": "data[].lines[]",
                "id": {"path": "line_id"},
                "fields": {"sku": {"path": "sku"}, "quantity": {"path": "qty"},
                           "unitPrice": {"path": "price_pence", "transform": {"money_minor": "GBP"}}},
                "keys": {"sku": {"path": "sku"}},
                "refs": {"purchase": {"path": "order"}},
            },
        },
    }


async def test_comma_batches_of_max_batch(tmp_path: Path) -> None:
    app = erp()
    ids = [str(i) for i in range(1, 251)]
    async with serve(app) as base, source(tmp_path, erp_options(base)) as api:
        records = await api.lookup("Customer", "id", ids)
        few = await api.lookup("Customer", "id", ["3", "4"])
    assert len(calls(app, "/v1/customers")) == 4  # 250 ids / 100 → 3 calls, then 1
    assert sorted(int(r.local_id) for r in records) == list(range(1, 251))
    assert sorted(r.local_id for r in few) == ["3", "4"]  # the extra row the API sent is dropped
    assert app[LOG][-1][2] == "ids=3,4"
    assert records[0].fields["addresses"] == ["1 Mill Lane, York", "PO Box 1, Hull"]


@pytest.mark.parametrize(("pagination", "requests"), [
    ({"type": "page", "page_param": "page", "size_param": "size", "size": 40}, 7),
    ({"type": "page", "size": 50}, 6),  # the 6th page is empty: the only way to know the end
    ({"type": "page", "size": 50, "total_path": "meta.total"}, 5),  # the total says so
    ({"type": "offset", "offset_param": "offset", "limit_param": "limit", "limit": 100}, 3),
    ({"type": "offset", "limit": 125, "total_path": "meta.total"}, 2),
    ({"type": "none"}, 1),
])
async def test_page_and_offset_return_everything(tmp_path: Path, pagination: dict[str, Any],
                                                 requests: int) -> None:
    app = erp()
    async with serve(app) as base, source(tmp_path, erp_options(base, pagination=pagination)) as api:
        records = await api.search("Customer", SearchRequest())
    assert sorted(int(r.local_id) for r in records) == list(range(1, 251))
    assert len(app[LOG]) == requests


@pytest.mark.parametrize(("auth", "how"), [
    ({"type": "api_key", "header": "X-Api-Key"}, "header"),
    ({"type": "api_key", "query": "api_key"}, "query"),
    ({"type": "bearer"}, "bearer"),
    ({"type": "basic", "username": "erp"}, "basic"),
])
async def test_each_auth_style(tmp_path: Path, auth: dict[str, Any], how: str) -> None:
    secret = {"api_key": "value", "bearer": "token", "basic": "password"}[auth["type"]]
    app = erp()
    async with serve(app) as base:
        async with source(tmp_path, erp_options(base, {**auth, secret: KEY})) as api:
            assert len(await api.lookup("Customer", "id", ["1"])) == 1
        assert app[FLAGS]["auth"] == [how]
        wrong = erp_options(base, {**auth, secret: "wr0ng-k3y"}, health_path="/v1/customers")
        async with source(tmp_path, wrong) as api:
            with pytest.raises(SourceError) as caught:
                await api.lookup("Customer", "id", ["1"])
            health = await api.health()
    message = str(caught.value)
    assert "authentication failed (HTTP 401)" in message and not caught.value.retryable
    assert "wr0ng" not in message and KEY not in message and "api_key" not in message
    assert not health.ok and "wr0ng" not in health.detail


async def test_nested_arrays_in_orders(tmp_path: Path) -> None:
    async with serve(erp()) as base, source(tmp_path, erp_options(base)) as api:
        (order,) = await api.search("Purchase", SearchRequest())
        lines = await api.search("LineItem", SearchRequest())
    assert order.fields["total"] == Money(Decimal("17.49"), "GBP")
    assert order.keys == {"customerEmail": ("c1@example.com",), "cardLast4": ("4242",)}
    assert [(r.local_id, r.fields["quantity"], r.refs["purchase"]) for r in lines] == [
        ("L1", 2, "BF-1001"), ("L2", 1, "BF-1001")]
    assert lines[0].keys == {"sku": ("SK1",)}


async def test_records_path_mismatch_names_the_path(tmp_path: Path) -> None:
    async with serve(erp()) as base, source(tmp_path, erp_options(base, path="/v1/odd")) as api:
        with pytest.raises(SourceError,
                           match=r"records path 'data' holds a string \('maintenance'\), not a list or object"):
            await api.search("Customer", SearchRequest())


async def test_transport_and_server_errors(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with source(tmp_path, erp_options(f"http://127.0.0.1:{port}")) as api:
        with pytest.raises(SourceUnavailable, match="cannot connect"):
            await api.lookup("Customer", "id", ["1"])
        assert not (await api.health()).ok
    async with serve(erp()) as base:
        async with source(tmp_path, erp_options(base, path="/v1/broken")) as api:
            with pytest.raises(SourceUnavailable, match="HTTP 500"):
                await api.search("Customer", SearchRequest())
        async with source(tmp_path, erp_options(base, path="/v1/slow", read_timeout=0.2)) as api:
            with pytest.raises(SourceTimeout):
                await api.search("Customer", SearchRequest())


async def test_health_and_capabilities(tmp_path: Path) -> None:
    async with serve(erp()) as base:
        async with source(tmp_path, erp_options(base)) as api:
            assert (await api.health()).ok  # GET / answers 404: reachable
            caps = api.capabilities().entities
        async with source(tmp_path, erp_options(base, health_path="/v1/customers")) as api:
            assert (await api.health()) .ok
        async with source(tmp_path, erp_options(base, health_path="/v1/broken")) as api:
            assert (await api.health()).detail == "HTTP 500"
    assert caps["Customer"].lookups == frozenset({"id"}) and caps["Customer"].searchable
    assert caps["Purchase"].lookups == frozenset() and caps["Purchase"].filters == {}


async def test_filtered_records_path_still_pages_to_the_end(tmp_path: Path) -> None:
    """`data[?…]` keeps few rows of a full page: paging must count the page, not the rows kept."""
    app = erp()
    options = erp_options("", pagination={"type": "page", "page_param": "page", "size_param": "size", "size": 40})
    async with serve(app) as base:
        options["base_url"] = base
        options["entities"]["Customer"]["records"] = "data[?id == `1` || id == `250`]"
        async with source(tmp_path, options) as api:
            records = await api.search("Customer", SearchRequest())
    assert sorted(int(r.local_id) for r in records) == [1, 250]
    assert len(app[LOG]) == 7


async def test_refused_connection_names_no_address(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with source(tmp_path, erp_options(f"http://127.0.0.1:{port}")) as api:
        with pytest.raises(SourceUnavailable) as caught:
            await api.lookup("Customer", "id", ["1"])
    assert "Connection refused" in str(caught.value)
    assert "127.0.0.1" not in str(caught.value) and str(port) not in str(caught.value)
