"""The console on a customer one of whose records was read from an export file (issue 23): the
badge says when that export was made, and the overview says when it is out of date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.browser.conftest import console_url
from tests.browser.test_console import search
from tests.stories.conftest import LiveDemo


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """The demo with the loyalty partner's weekly export also mapped as Customer records (a card)."""
    from federation.demo.run import demo_config_text

    config = yaml.safe_load(demo_config_text())
    config["sources"]["loyalty"]["entities"]["Customer"] = {
        "id": "card_no", "fields": {"loyaltyNumbers": "card_no"}, "keys": {"loyaltyNumber": "card_no"}}
    demo = LiveDemo(tmp_path_factory.mktemp("console-exported"), yaml.safe_dump(config, sort_keys=False))
    yield demo
    demo.close()


def test_a_record_from_an_export_shows_its_as_of_and_out_of_date(browser: Any, exported: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(console_url(exported))
        search(page, "6340 0002 0202")  # José's loyalty card: the CRM, the till and the partner's file know it
        badge = page.locator('.badges li[data-source="loyalty"]')
        assert "as of 2025-11-30 00:00 (out of date)" in badge.inner_text()
        assert "last copy" not in badge.inner_text()  # not a system that failed: an export that is late
        assert "as of" not in page.locator('.badges li[data-source="crm"]').inner_text()  # read live
        attention = page.locator(".alert.warn").all_inner_texts()
        assert any(": its latest export is out of date (as of 2025-11-30 00:00)" in a for a in attention)
        assert not any("did not answer" in a for a in attention)
    finally:
        context.close()
    assert not errors, errors
