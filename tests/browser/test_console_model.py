"""The console follows the served model, fits one screen and works with no internet (issue 21)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import yaml

from tests.browser.conftest import console_url
from tests.browser.test_console import DONE, search
from tests.stories.conftest import LiveDemo

ROOT = Path(__file__).resolve().parents[2]
SCREEN = {"width": 1366, "height": 768}


def doc_shot(page: Any, name: str, full: bool = False) -> None:
    """Screenshots shown in docs/agents.md: written to artifacts/screenshots/ on every run, and
    to docs/img/ only with ONEPANE_UPDATE_DOCS_IMG=1 (a test run never edits the docs)."""
    folder = ROOT / ("docs/img" if os.environ.get("ONEPANE_UPDATE_DOCS_IMG") else "artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


@pytest.fixture
def screen(browser: Any, live: LiveDemo) -> Iterator[Any]:
    """A 1366x768 tab, the commonest contact-centre laptop screen."""
    context = browser.new_context(viewport=SCREEN, locale="en-GB", timezone_id="Europe/London")
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def loyalty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """The demo plus a Customer field added by config (loyaltyTier, from the store POS) and display hints."""
    from federation.demo.run import demo_config_text

    config = yaml.safe_load(demo_config_text())
    customer = config["model"]["entities"]["Customer"]
    customer["fields"]["loyaltyTier"] = {"type": "String", "description": "The POS's loyalty tier."}
    customer["display"] = {"loyaltyTier": {"label": "Tier", "order": 0},
                           "warranties": {"label": "Cover", "section": "summary"},
                           "emails": {"section": "details"}}
    config["model"]["entities"]["Warranty"]["display"] = {"serialNumber": {"hidden": True}}
    config["sources"]["pos"]["entities"]["Customer"]["fields"]["loyaltyTier"] = {"value": "GOLD"}
    demo = LiveDemo(tmp_path_factory.mktemp("console-loyalty"), yaml.safe_dump(config, sort_keys=False))
    yield demo
    demo.close()


def test_config_added_entity_relation_and_field_are_shown(browser: Any, loyalty: LiveDemo) -> None:
    context = browser.new_context(viewport=SCREEN, locale="en-GB", timezone_id="Europe/London")
    try:
        page = context.new_page()
        page.goto(console_url(loyalty))
        search(page, "BF-2025-0042")
        assert page.locator(".who h2").inner_text() == "Zoë Hart"
        tier = page.locator('.who dd[data-field="loyaltyTier"]')
        assert tier.inner_text() == "GOLD"
        assert page.locator(".who dt").first.inner_text() == "Tier", "display order puts it first"
        assert "Emails" not in page.locator(".who").inner_text(), "section: details moves it out of the header"
        more = page.get_by_role("region", name="More about the customer").inner_text()
        assert "Emails" in more and "zoe.hart@example.com" in more
        pinned = page.locator('.overview .pinned[data-relation="warranties"]').inner_text()  # section: summary
        assert "Cover (2)" in pinned and "WP-88410" in pinned
        cover = page.get_by_role("region", name="Cover (2)")  # Customer.warranties, labelled by a hint
        text = cover.inner_text()
        assert "WP-88410" in text and "Washing machine 9kg" in text and "Extended" in text
        assert "Accidental damage" in text and "28 Nov 2025" in text and "129.00 GBP" in text
        assert "Serial number" not in text and "WM9-55120-ZH" not in text, "hidden by a display hint"
        order = page.locator('.purchase[aria-label="Order BF-2025-0042"] .related[data-relation="warranties"]')
        assert "WP-88410" in order.inner_text() and "WP-88411" in order.inner_text()
        doc_shot(page, "console-config-fields", full=True)
    finally:
        context.close()


def test_the_first_screen_holds_who_what_is_wrong_and_latest_activity(screen: Any, live: LiveDemo) -> None:
    screen.goto(console_url(live))
    search(screen, "BF-2025-0042")
    box = screen.locator(".overview").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= SCREEN["height"] and box["x"] + box["width"] <= SCREEN["width"], box
    assert screen.locator(".overview .who h2").inner_text() == "Zoë Hart"
    attention = screen.locator(".attention").inner_text()
    assert "Washer and dryer" in attention and "Open" in attention  # the open case
    assert "2 deliveries were completed" in attention and "systems disagree on the status" in attention
    assert screen.locator(".latest .entry").count() == 5
    pinned = screen.locator('.overview .pinned[data-relation="warranties"]').inner_text()  # the demo's display hint
    assert "Warranties (2)" in pinned and "WP-88410" in pinned and "Extended" in pinned
    # agent wording: words for statuses with the raw value on hover, relative times with the exact one
    case_status = screen.locator(".attention .status").first
    assert case_status.inner_text() == "Open" and case_status.get_attribute("title") == "open"  # as the CRM wrote it
    first_time = screen.locator(".latest time").first
    assert "ago" in first_time.inner_text() and "2025" in str(first_time.get_attribute("title"))
    body = screen.locator("body").inner_text()
    for technical in ("Gateway id", "shop:", "crm:", "pos:", "http", "DUPLICATE_DELIVERY", "at no date"):
        assert technical not in body, technical
    doc_shot(screen, "console-one-screen")


def test_loads_and_searches_with_every_external_request_blocked(browser: Any, live: LiveDemo) -> None:
    context = browser.new_context(viewport=SCREEN, locale="en-GB", timezone_id="Europe/London")
    gateway = urlsplit(live.handle.url).netloc
    blocked: list[str] = []
    seen: list[str] = []

    def only_the_gateway(route: Any) -> None:
        seen.append(route.request.url)
        if urlsplit(route.request.url).netloc == gateway:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_gateway)
    try:
        page = context.new_page()
        page.goto(console_url(live))
        search(page, "ann.lee@example.com")
        assert page.locator(".who h2").inner_text() == "Ann Lee"
        assert not blocked, blocked
        assert any(u.endswith("/console/console.js") for u in seen) and any(u.endswith("/console/document")
                                                                            for u in seen)
    finally:
        context.close()


def test_screen_pop_opens_the_customer_and_recent_searches_are_kept(screen: Any, live: LiveDemo) -> None:
    searches: list[dict[str, Any]] = []
    screen.on("request", lambda r: searches.append(r.post_data_json) if r.url.endswith("/graphql") else None)
    screen.goto(console_url(live) + "?phone=" + quote("020 7946 0311"))
    screen.wait_for_function(DONE, timeout=15_000)
    assert screen.locator(".who h2").inner_text() == "Zoë Hart"
    assert screen.locator("#term").input_value() == "020 7946 0311"
    assert [s["variables"] for s in searches] == [{"phone": "020 7946 0311"}], "the link says phone: only phone"
    screen.goto(console_url(live) + "?order=WEB-100231")
    screen.wait_for_function(DONE, timeout=15_000)
    assert screen.locator(".who h2").inner_text() == "Ann Lee"
    screen.goto(console_url(live))
    recent = screen.get_by_role("navigation", name="Recent searches in this browser")
    assert [t.strip() for t in recent.locator("li").all_inner_texts()] == [
        "Ann Lee (WEB-100231)", "Zoë Hart (020 7946 0311)"]
    recent.get_by_role("button", name="Zoë Hart (020 7946 0311)").click()
    screen.wait_for_function(DONE, timeout=15_000)
    assert screen.locator(".who h2").inner_text() == "Zoë Hart"
    recent.get_by_role("button", name="Clear").click()
    assert screen.evaluate("localStorage.getItem('onepane.recentSearches')") is None


def test_ambiguous_matches_show_enough_to_choose(screen: Any, live: LiveDemo) -> None:
    screen.goto(console_url(live))
    search(screen, "+44 20 7946 0777")
    panel = screen.get_by_role("region", name="Customers that match")
    heading = panel.locator("h3")
    count = panel.locator(".candidates li").count()
    assert count >= 2 and heading.inner_text() == f"{count} customers match: choose one"
    first = panel.locator(".candidates button").first
    text = first.inner_text()
    assert "Last purchase" in text and "Systems" in text
    for label in ("Address", "Born", "Last purchase", "Systems"):
        assert first.locator("dt", has_text=label).count() == 1, label
    assert "not on file" in text  # the demo's people have no address: said, not left out
    doc_shot(screen, "console-ambiguous")
    first.click()
    assert "customers match" not in heading.inner_text() and "Showing" in heading.inner_text()
    assert "customers match" not in screen.locator("#status").inner_text()
    assert f"chosen from {count} matches" in screen.locator("#status").inner_text()
    assert screen.locator(".view .who h2").count() == 1
