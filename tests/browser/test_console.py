"""The five stories through the agent console in headless Chromium, against the demo's real sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.browser.conftest import console_url, shot
from tests.stories.conftest import LiveDemo

DONE = """() => !document.body.classList.contains('loading')
  && document.querySelector('#results').children.length > 0
  && !document.querySelector('#results .notice.loading')"""


def search(page: Any, term: str) -> None:
    """Type into the one search box and press Enter, as an agent does; wait for the answer."""
    box = page.get_by_label("Find a customer")
    box.fill(term)
    box.press("Enter")
    page.wait_for_function(DONE, timeout=15_000)


def source_state(page: Any, name: str) -> str:
    return str(page.locator(f'#sources li[data-source="{name}"]').get_attribute("data-state"))


def timeline_times(page: Any) -> list[str]:
    return [str(t) for t in page.locator(".timeline-panel .entry time").evaluate_all("ts => ts.map(t => t.dateTime)")]


def test_story1_preorder_conflict_and_timeline(page: Any) -> None:
    search(page, "  ANN.LEE@example.com ")
    assert page.locator(".who h2").inner_text() == "Ann Lee"
    badges = page.locator(".badges .badge")
    assert badges.count() == 2
    crm = page.locator('.badge[data-source="crm"]')
    assert "C-1001" in crm.inner_text() and "CRM and helpdesk API" in crm.inner_text()
    assert "linked by email = ann.lee@example.com" in str(crm.get_attribute("title"))
    conflict = page.locator(".conflicts .conflict").first
    text = conflict.inner_text()
    assert "Order WEB-100231: status" in text
    assert "Web-shop database says Processing" in text and "CRM and helpdesk API says Cancelled" in text
    assert conflict.locator('.status[title="PROCESSING"]').count() == 1  # the raw value on hover
    assert conflict.locator('time[datetime="2025-11-21T08:15:00+00:00"]').count() == 1
    times = timeline_times(page)
    assert times == sorted(times, reverse=True) and len(times) >= 8
    channels = page.locator(".timeline-panel .entry").evaluate_all("es => es.map(e => e.dataset.channel)")
    assert channels.count("EMAIL") == 4 and channels.count("SOCIAL") == 1
    first = page.locator(".timeline-panel .entry").first.inner_text()
    assert "cancelled and refunded" in first and "to customer" in first
    assert page.locator(".timeline-panel .entry svg.icon").count() == len(times)
    # Statuses and channels inside a summary read as words; the raw value stays on hover.
    purchase = page.locator(".timeline-panel .entry.kind-purchase", has_text="WEB-100231").first
    summary = purchase.locator(".summary")
    assert summary.inner_text() == "Web purchase WEB-100231 (cancelled, 24.99 GBP)"
    assert summary.locator(".enum").evaluate_all("es => es.map(e => e.title)") == ["WEB", "CANCELLED"]
    order = page.locator('.purchase[aria-label="Order WEB-100231"]')
    assert "Refund 24.99 GBP by card" in order.inner_text()
    assert "The Long Winter (DVD, pre-order)" in order.inner_text()
    for name in ("shop", "crm"):
        assert source_state(page, name) == "answered"
    assert page.locator(".notice.partial").count() == 0
    shot(page, "story1-preorder")


def test_story2_store_purchase_found_by_email(page: Any) -> None:
    search(page, "jose.garcia@example.org")
    assert page.locator(".who h2").inner_text() == "José García"
    assert {"shop", "crm"} <= set(page.locator(".badges .badge").evaluate_all("bs => bs.map(b => b.dataset.source)"))
    store = page.locator(".purchase", has_text="MANCHESTER ARNDALE")
    assert store.count() == 1
    text = store.inner_text()
    assert "till 03" in text and "•••• 1881" in text and "Store" in text
    assert store.locator(".items tbody tr").count() == 2
    assert page.locator('.purchase[aria-label="Order WEB-100198"]').count() == 1
    assert page.locator('.purchase[aria-label="Order WEB-100245"]').count() == 1
    assert source_state(page, "pos") == "answered"
    shot(page, "story2-store-purchase")


def test_story3_double_delivery_flagged(page: Any) -> None:
    search(page, "BF-2025-0042")
    assert page.locator(".who h2").inner_text() == "Zoë Hart"
    order = page.locator('.purchase[aria-label="Order BF-2025-0042"]')
    assert "2 deliveries were completed" in order.locator('.flag[data-code="DUPLICATE_DELIVERY"]').inner_text()
    assert order.locator(".shipment").count() == 3
    first = order.locator(".shipment").filter(has=page.locator("strong", has_text="DLV-88001"))
    assert first.locator(".events li").count() == 4
    assert [s.strip() for s in first.locator(".events .status").all_inner_texts()] == [
        "Cancelled", "Rescheduled", "Missed", "Booked"]
    channels = page.locator(".timeline-panel .entry").evaluate_all("es => es.map(e => e.dataset.channel)")
    assert channels.count("PHONE") == 2 and "SOCIAL" in channels and channels.count("DELIVERY") >= 8
    shot(page, "story3-double-delivery")


def test_story4_card_last4_and_date(page: Any) -> None:
    search(page, "4417 2025-11-18 16:47 89.99")
    matched = page.locator(".matched .purchase")
    assert matched.count() == 1, "the decoys (other card, other day, cash) must not match"
    assert "BRISTOL CABOT CIRCUS" in matched.inner_text()
    assert "Belongs to Grace Okafor" in page.locator(".matched .owner").inner_text()
    assert page.locator(".who h2").inner_text() == "Grace Okafor"
    waits = page.locator(".timeline-panel .wait").all_inner_texts()
    assert "waited 21 min" in waits and "waited 9 min" in waits and "waited 2 d 0 h" in waits
    whatsapp = page.locator('.timeline-panel .entry[data-channel="WHATSAPP"]', has_text="waited")
    assert whatsapp.locator(".wait.long").count() == 1
    # the whole day finds it too; the matched purchase is outlined in the customer's list
    search(page, "4417 2025-11-18")
    assert page.locator(".matched .purchase").count() == 1
    assert page.locator(".columns .purchase.matched").count() == 1
    shot(page, "story4-no-receipt")


def test_story5_same_person_from_either_side(page: Any) -> None:
    search(page, "pos:00004711")
    from_store = page.locator(".who .facts").inner_text()
    assert page.locator(".cases li").count() == 2
    assert "CASE-550" in page.locator(".cases").inner_text()
    store_sales = page.locator(".purchase", has_text="LEEDS TRINITY").count()
    assert store_sales == 3
    search(page, "crm:CASE-550")
    assert page.locator(".who .facts").inner_text() == from_store
    assert page.locator(".purchase", has_text="LEEDS TRINITY").count() == store_sales
    shot(page, "story5-from-crm-case")


def test_ambiguous_digits_try_phone_and_loyalty_in_one_query(page: Any) -> None:
    requests: list[dict[str, Any]] = []
    page.on("request", lambda r: requests.append(orjson.loads(r.post_data)) if r.url.endswith("/graphql")
            and r.post_data and "ConsoleSearch" in r.post_data else None)
    search(page, "6340 0002 0202")
    assert page.locator(".who h2").inner_text() == "José García"
    assert len(requests) == 1
    query = requests[0]["query"]
    assert "phone: customers(phone: $phone)" in query
    assert "loyaltyNumber: customers(loyaltyNumber: $loyaltyNumber)" in query


def test_nothing_matched_says_what_was_tried(page: Any) -> None:
    search(page, "nobody@example.com")
    text = page.locator(".notice.empty").inner_text()
    assert "Nothing matched" in text and "email “nobody@example.com”" in text
    assert "Web-shop database" in text and "CRM and helpdesk API" in text
    shot(page, "empty")


def test_keyboard_only(page: Any) -> None:
    assert page.evaluate("document.activeElement.id") == "term"
    page.keyboard.type("BF-2025-0042")
    page.keyboard.press("Enter")
    page.wait_for_function(DONE, timeout=15_000)
    assert page.locator(".who h2").inner_text() == "Zoë Hart"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Search"
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "term"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus must be visible"
    assert page.get_by_role("search").count() == 1 and page.get_by_role("status").count() == 1


def test_narrow_screen_single_column(browser: Any, live: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        page.goto(console_url(live))
        search(page, "  ANN.LEE@example.com ")
        columns = page.evaluate("getComputedStyle(document.querySelector('.columns')).gridTemplateColumns")
        assert len(columns.split()) == 1, columns
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(page, "story1-narrow")
    finally:
        context.close()


def test_api_text_is_never_html(page: Any) -> None:
    hostile = "<img src=x onerror=\"document.body.dataset.pwned=1\">"
    body = {"data": {"email": [{
        "id": "crm:X", "name": hostile, "emails": [hostile], "phones": [], "addresses": [], "loyaltyNumbers": [],
        "sourceRecords": [{"source": "crm", "localId": hostile, "linkedBy": [hostile], "stale": True,
                           "ageSeconds": 90}],
        "conflicts": [], "purchases": [], "cases": [],
        "timeline": [{"at": "2025-01-01T00:00:00+00:00", "kind": "INTERACTION", "channel": "CHAT",
                      "direction": "INBOUND", "summary": hostile, "waitSeconds": 30, "source": "crm", "ref": "crm:X"}],
    }]}, "extensions": {"sources": {"crm": {"calls": 1, "ms": 3.0, "stale": 1, "ok": True, "error": None}}}}
    page.route("**/graphql", lambda route: route.fulfill(status=200, content_type="application/json",
                                                           body=orjson.dumps(body)))
    search(page, "x@example.com")
    assert page.locator(".who h2").inner_text() == hostile
    assert page.locator("#results img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    assert source_state(page, "crm") == "stale"
    assert "last copy" in page.locator(".badge.stale").inner_text()


def test_api_key_field_is_sent_and_kept_in_session_storage(page: Any, console_errors: list[str]) -> None:
    seen: list[str | None] = []
    page.on("request", lambda r: seen.append(r.headers.get("x-api-key"))
            if r.url.endswith(("/graphql", "/console/document")) else None)
    page.locator(".key summary").click()
    page.get_by_label("API key", exact=False).fill("not-a-key")
    search(page, "nobody@example.com")
    assert seen and seen[-1] == "not-a-key"
    assert page.evaluate("sessionStorage.getItem('onepane.apiKey')") == "not-a-key"
    assert page.evaluate("localStorage.length") == 0
    # the gateway does not know the key: the console says so and puts the cursor in the key field
    assert "Not authorised" in page.locator(".notice.error").inner_text()
    assert page.evaluate("document.activeElement.id") == "apikey"
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")  # back to the demo's anonymous role
    search(page, "nobody@example.com")
    assert seen[-1] is None and page.locator(".notice.empty").count() == 1
    console_errors.clear()  # the 401s above were provoked on purpose


@pytest.fixture(scope="module")
def crm_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    demo = LiveDemo(tmp_path_factory.mktemp("console-crm-down"))
    demo.run(demo.handle.crm.cleanup())
    yield demo
    demo.close()


def test_source_stopped_strip_names_it_and_the_rest_renders(browser: Any, crm_down: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        page.goto(console_url(crm_down))
        search(page, "jose.garcia@example.org")
        failed = page.locator('#sources li[data-source="crm"]')
        assert failed.get_attribute("data-state") == "failed"
        assert "not answering" in str(failed.get_attribute("title"))
        assert failed.inner_text() == "CRM and helpdesk API"
        assert source_state(page, "shop") == "answered"
        notice = page.locator(".notice.partial").inner_text()
        assert notice.startswith("CRM and helpdesk API is not answering — ") and "cases" in notice
        assert "may be missing" in notice
        assert "CRM and helpdesk API is not answering" in page.locator(".attention").inner_text()
        assert "not available" in page.locator(".panel.cases").inner_text()  # in its place, not a broken panel
        body = page.locator("body").inner_text()
        assert "http" not in body and "Connection refused" not in body and "/api/v2" not in body
        assert page.locator(".who h2").inner_text() == "Jose Garcia"
        assert page.locator('.purchase[aria-label="Order WEB-100245"]').count() == 1
        assert page.locator(".purchase .items tbody tr").count() >= 2
        shot(page, "crm-down-partial")
    finally:
        context.close()


def _customer(cid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "name": name, "emails": [], "phones": [], "addresses": [], "loyaltyNumbers": [],
            "sourceRecords": [{"source": cid.split(":")[0], "localId": cid.split(":")[1], "linkedBy": [],
                               "stale": False, "ageSeconds": None}],
            "conflicts": [], "purchases": [], "cases": [], "timeline": [], **extra}


def test_possible_matches_confirmed_with_a_reason(page: Any) -> None:
    """The gateway offers possibleMatches and linkRecords (identity rules configured): the console shows
    the candidates and sends the agent's decision as the role's generated mutation."""
    sent: list[dict[str, Any]] = []
    match = {"customer": _customer("pos:00009001", "Ann Leigh"), "score": 0.87,
             "reasons": ["name ann lee ~ ann leigh (jaro-winkler 0.91)", "same postcode"]}
    link = ("mutation ConsoleLink($a: ID!, $b: ID!, $reason: String!) {\n"
            "  linkRecords(a: $a, b: $b, reason: $reason) { kind principal createdAt }\n}\n")

    def documents(route: Any) -> None:
        body = orjson.loads(route.fetch().body())
        body["documents"]["linkRecords"] = link
        body["documents"]["unlinkRecords"] = link.replace("ConsoleLink", "ConsoleUnlink").replace("link", "unlink")
        route.fulfill(status=200, content_type="application/json", body=orjson.dumps(body))

    def answer(route: Any) -> None:
        body = orjson.loads(route.request.post_data)
        sent.append(body)
        if "ConsoleLink" in body["query"]:
            data: dict[str, Any] = {"linkRecords": {"kind": "link", "principal": "agent-ui",
                                                    "createdAt": "2025-12-05T10:00:00+00:00"}}
        else:
            data = {name: [_customer("shop:1", "Ann Lee", possibleMatches=[match])] for name in body["variables"]}
        route.fulfill(status=200, content_type="application/json", body=orjson.dumps({"data": data}))

    page.route("**/console/document", documents)
    page.route("**/graphql", answer)
    search(page, "ann.lee@example.com")
    panel = page.get_by_role("region", name="Possible matches to confirm")
    assert "Ann Leigh — in Store POS database" in panel.inner_text() and "score 0.87" in panel.inner_text()
    assert "same postcode" in panel.inner_text()
    assert "1 possible match to confirm" in page.locator(".attention").inner_text()
    panel.get_by_role("button", name="Same person").click()
    assert "Give a reason first" in panel.inner_text()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == \
        "Reason for the decision about Ann Leigh"
    page.keyboard.type("Customer confirmed both addresses on the phone")
    with page.expect_request(lambda r: "ConsoleSearch" in (r.post_data or "")):
        panel.get_by_role("button", name="Same person").click()
    page.wait_for_function(DONE, timeout=15_000)
    decisions = [b for b in sent if "ConsoleLink" in b["query"]]
    assert len(decisions) == 1 and "linkRecords(a: $a, b: $b, reason: $reason)" in decisions[0]["query"]
    assert decisions[0]["variables"] == {"a": "shop:1", "b": "pos:00009001",
                                         "reason": "Customer confirmed both addresses on the phone"}
    assert sent[-1]["variables"] == {"sourceRef": "shop:1"}, "after linking, the console looks the customer up again"
    shot(page, "possible-matches")


AGENT_KEY = "console-agent-key-for-tests"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """The demo with no anonymous access: an API key for a masked contact-centre role."""
    import hashlib

    from federation.demo.run import demo_config_text

    digest = hashlib.sha256(AGENT_KEY.encode()).hexdigest()
    config = demo_config_text().replace("  anonymous_role: demo\n", (
        f"  api_keys:\n    - {{name: agent-ui, sha256: {digest}, role: agent}}\n"
        "  anonymous_role: null\n"))
    config = config.replace("    demo: {allow: [\"*\"], introspection: true}\n", (
        "    agent:\n      allow: [\"*\"]\n      deny: [Query.sources]\n"
        "      mask: {Customer.emails: email, SourceRecord.linkedBy: contacts}\n"))
    assert "agent-ui" in config and "role: agent" in config
    demo = LiveDemo(tmp_path_factory.mktemp("console-secured"), config)
    yield demo
    demo.close()


def test_console_is_public_but_its_queries_use_the_agents_key(browser: Any, secured: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        response = page.goto(console_url(secured).removesuffix("/"))  # /console redirects to /console/
        assert page.url == console_url(secured) and response.status == 200
        assert "no-cache" in response.headers["cache-control"]
        assert "default-src 'none'" in response.headers["content-security-policy"]
        search(page, "ann.lee@example.com")
        assert "Not authorised" in page.locator(".notice.error").inner_text()
        assert page.evaluate("document.activeElement.id") == "apikey"
        page.keyboard.type(AGENT_KEY)
        page.keyboard.press("Enter")  # back to the search box
        page.keyboard.press("Enter")
        page.wait_for_function(DONE, timeout=15_000)
        assert page.locator(".who h2").inner_text() == "Ann Lee"
        facts = page.locator(".who .facts").inner_text()
        assert "a***@example.com" in facts and "ann.lee@example.com" not in facts, "the role's mask applies"
        assert "ann.lee@example.com" not in page.locator(".badges").inner_text()
        assert page.locator(".purchase").count() == 2
    finally:
        context.close()


def test_an_export_fed_system_shows_as_of_and_out_of_date(page: Any) -> None:
    search(page, "  ANN.LEE@example.com ")
    loyalty = page.locator('#sources li[data-source="loyalty"]')
    assert "as of 2025-11-30 00:00 (out of date)" in loyalty.inner_text()  # the demo's weekly file, 8-day max_age
    assert "as of" not in page.locator('#sources li[data-source="crm"]').inner_text()  # live systems have no copy
