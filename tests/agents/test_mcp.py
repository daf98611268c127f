"""The /mcp endpoint through the MCP SDK's own client, against the demo's real sources."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from federation.security import AuditLog
from tests.agents.conftest import audit_path, call, mcp_url, text_of
from tests.security.conftest import AUDIENCE, ISSUER, api_key, bearer
from tests.stories.conftest import LiveDemo, post_raw

TOOLS = {"find_customer", "customer_360", "find_purchase", "customer_timeline"}
STORY4 = {"card_last4": "4417", "placed_from": "2025-11-18T16:30:00+00:00", "placed_to": "2025-11-18T17:00:00Z",
          "amount": "89.99"}


async def test_lists_exactly_the_approved_tools(demo: LiveDemo) -> None:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (httpx2.AsyncClient(timeout=30) as http,
                streamable_http_client(mcp_url(demo), http_client=http) as (read, write),
                ClientSession(read, write) as session):
        info = await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert info.server_info.name == "onepane"
    assert set(tools) == TOOLS
    assert tools["find_purchase"].input_schema["required"] == ["card_last4", "placed_from", "placed_to"]
    assert all(t.annotations and t.annotations.read_only_hint for t in tools.values())
    assert {t.title for t in tools.values()} == {"Find a customer", "A customer across every system",
                                                 "Find a purchase by card", "A customer's timeline"}
    for tool in tools.values():  # every parameter says what to give, in its own words, with an example
        properties = tool.input_schema["properties"]
        descriptions = [p["description"] for p in properties.values()]
        assert len(set(descriptions)) == len(descriptions), tool.name
        assert all(p.get("examples") for p in properties.values()), tool.name


async def test_find_customer_by_email_in_any_case(demo: LiveDemo) -> None:
    result, body = await call(demo, "find_customer", {"email": "  ANN.LEE@example.com "})
    assert not result.is_error
    assert body["found"] == 1 and body["customers"][0]["id"] == "shop:1"
    assert body["customers"][0]["records"] == ["shop:1", "crm:C-1001"]
    assert set(body["sources"]["answered"]) >= {"shop", "crm"} and "failed" not in body["sources"]
    assert result.structured_content == body
    assert ": " not in text_of(result)[:20]  # compact JSON, no indentation or padding


async def test_nothing_matched_says_what_was_tried(demo: LiveDemo) -> None:
    result, body = await call(demo, "find_customer", {"email": "nobody@example.com"})
    assert not result.is_error and body["found"] == 0 and "customers" not in body
    assert body["message"].startswith('nothing matched: tried email "nobody@example.com" in ')
    assert "shop" in body["message"]


async def test_ambiguous_phone_lists_the_candidates(demo: LiveDemo) -> None:
    result, body = await call(demo, "find_customer", {"phone": "+44 20 7946 0777"})
    assert not result.is_error and body["ambiguous"] is True
    assert body["found"] == len(body["customers"]) >= 2
    assert all(c["id"] and c.get("name") for c in body["customers"])
    assert "customer_360" in body["message"]


async def test_find_purchase_by_card_window_and_amount(demo: LiveDemo) -> None:
    result, body = await call(demo, "find_purchase", STORY4)
    assert not result.is_error and body["found"] == 1
    (sale,) = body["purchases"]
    assert sale["channel"] == "STORE" and sale["total"] == {"amount": "89.99", "currency": "GBP"}
    assert sale["customer"]["name"] == "Grace Okafor"
    _, day = await call(demo, "find_purchase", {"card_last4": "4417", "placed_from": "2025-11-18",
                                                "placed_to": "2025-11-18"})
    assert sale["id"] in {p["id"] for p in day["purchases"]}  # a date alone is that whole day
    _, none = await call(demo, "find_purchase", {**STORY4, "amount": 1.5})
    assert none["found"] == 0 and "card ending 4417" in none["message"] and "for 1.5" in none["message"]


async def test_customer_360_and_timeline(demo: LiveDemo) -> None:
    result, body = await call(demo, "customer_360", {"customer_id": "crm:C-1001"})
    assert not result.is_error
    ann = body["customer"]
    assert ann["id"] == "shop:1" and ann["name"] == "Ann Lee"
    order = next(p for p in ann["purchases"] if p["orderNumber"] == "WEB-100231")
    assert any(c["field"] == "status" for c in order["conflicts"])  # shop and helpdesk disagree
    _, timeline = await call(demo, "customer_timeline", {"customer_id": "shop:1", "limit": 3})
    assert len(timeline["timeline"]) == 3 and timeline["entries"] > 3 and timeline["truncated"] is True
    times = [e["at"] for e in timeline["timeline"]]
    assert times == sorted(times, reverse=True)
    _, missing = await call(demo, "customer_360", {"customer_id": "shop:999999"})
    assert missing["found"] == 0 and "no customer with id 'shop:999999'" in missing["message"]


@pytest.mark.parametrize(("tool", "arguments", "names"), [
    ("find_customer", {}, "give at least one of email"),
    ("find_customer", {"email": "   "}, "email: give a value"),
    ("customer_360", {"customer_id": "C-1001"}, "customer_id: give an id as source:localId"),
    ("customer_360", {}, "customer_id"),
    ("find_purchase", {**STORY4, "card_last4": "44x7"}, "card_last4: give exactly the last four digits"),
    ("find_purchase", {**STORY4, "placed_from": "yesterday"}, "placed_from: give an ISO 8601 time"),
    ("find_purchase", {**STORY4, "placed_to": "2025-11-18T16:00:00Z"}, "placed_to: must be after placed_from"),
    ("find_purchase", {**STORY4, "placed_from": "2025-01-01"}, "narrow it to 31 days or less"),
    ("find_purchase", {**STORY4, "amount": "-3"}, "amount: give a positive amount"),
    ("customer_timeline", {"customer_id": "shop:1", "limit": 0}, "limit"),
])
async def test_bad_arguments_are_named(demo: LiveDemo, tool: str, arguments: dict[str, object], names: str) -> None:
    result, body = await call(demo, tool, arguments)
    assert result.is_error
    assert names in body["text"]


async def test_every_bad_argument_is_reported_at_once(demo: LiveDemo) -> None:
    result, body = await call(demo, "find_purchase", {**STORY4, "card_last4": "44x7", "placed_from": "yesterday",
                                                      "amount": "-3"})
    assert result.is_error
    assert "3 arguments need fixing" in body["text"]
    for name in ("card_last4:", "placed_from:", "amount:"):
        assert name in body["text"]
    result, body = await call(demo, "find_customer", {"email": " ", "phone": " ", "name": "x" * 300})
    assert "3 arguments need fixing" in body["text"] and "name: at most 200 characters" in body["text"]


async def test_a_stopped_source_is_named_and_the_rest_answers(tmp_path: Path) -> None:
    live = LiveDemo(tmp_path)
    try:
        live.run(live.handle.crm.cleanup())
        result, body = await call(live, "find_customer", {"email": "ann.lee@example.com"})
    finally:
        live.close()
    assert not result.is_error and body["customers"][0]["id"] == "shop:1"
    assert body["sources"]["failed"]["crm"].startswith("SOURCE_UNAVAILABLE")
    assert "shop" in body["sources"]["answered"]
    assert any(m.startswith("data from crm (SOURCE_UNAVAILABLE)") for m in body["missing"])


# -- secured: the caller's credentials, role masks, limits and audit apply as on /graphql ----------------

async def test_no_credentials_is_401_like_graphql(secured: LiveDemo) -> None:
    status, body = post_raw(mcp_url(secured), "", body=b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
                            headers={"Accept": "application/json, text/event-stream"})
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(Exception):  # noqa: B017 - the SDK's client surfaces the 401 as its own error
        await call(secured, "find_customer", {"email": "ann.lee@example.com"}, {"X-Api-Key": "guess"})


async def test_masked_role_gets_masked_emails_and_the_call_is_audited(secured: LiveDemo) -> None:
    before = len(AuditLog.read(audit_path(secured))) if audit_path(secured).exists() else 0
    result, body = await call(secured, "find_customer", {"email": "ann.lee@example.com"}, api_key("agent"))
    assert not result.is_error
    (ann,) = body["customers"]
    assert ann["emails"] and all(e.startswith("a***@") for e in ann["emails"])
    assert all(p.startswith("*") for p in ann["phones"])
    assert "ann.lee@example.com" not in text_of(result)  # not even inside link reasons
    entries = AuditLog.read(audit_path(secured))[before:]
    (entry,) = [e for e in entries if e["operationName"] == "AgentFindCustomer"]
    assert entry["principal"] == "agent-ui" and entry["role"] == "agent"
    assert entry["customerIds"] == ["shop:1"] and "Customer.emails" in entry["fields"]


async def test_bearer_token_works_too(secured: LiveDemo) -> None:
    token = bearer({"sub": "agent-7", "role": "agent", "aud": AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 300})
    result, body = await call(secured, "customer_360", {"customer_id": "shop:1"}, token)
    assert not result.is_error and body["customer"]["emails"][0].startswith("a***@")


async def test_a_role_that_may_not_read_customers_gets_the_reason(secured: LiveDemo) -> None:
    result, body = await call(secured, "find_customer", {"email": "ann.lee@example.com"}, api_key("analyst"))
    assert result.is_error and "message" not in body  # not "nothing matched"
    assert body["errors"][0]["code"] == "FORBIDDEN" and "Query.customers" in body["errors"][0]["message"]


async def test_the_persisted_query_allow_list_applies(secured: LiveDemo) -> None:
    result, body = await call(secured, "customer_timeline", {"customer_id": "shop:1"}, api_key("admin"))
    assert result.is_error and body["errors"][0]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    allowed, _ = await call(secured, "customer_360", {"customer_id": "shop:1"}, api_key("admin"))
    assert not allowed.is_error


async def test_customer_360_returns_what_the_config_added(demo: LiveDemo) -> None:
    """The demo's config adds Warranty and Customer.warranties / Purchase.warranties: customer_360 reads them."""
    _, found = await call(demo, "find_customer", {"order_number": "BF-2025-0042"})
    ident = found["customers"][0]["id"]
    result, body = await call(demo, "customer_360", {"customer_id": ident})
    assert not result.is_error
    policies = {w["policyNumber"]: w for w in body["customer"]["warranties"]}
    assert set(policies) == {"WP-88410", "WP-88411"}
    assert policies["WP-88410"]["plan"] == "EXTENDED" and policies["WP-88410"]["premium"]["amount"] == "129.00"
    order = next(p for p in body["customer"]["purchases"] if p["orderNumber"] == "BF-2025-0042")
    assert {w["policyNumber"] for w in order["warranties"]} == {"WP-88410", "WP-88411"}
