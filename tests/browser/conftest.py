"""Headless Chromium (Debian's, driven by Playwright) against the console served by the live demo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stories.conftest import LiveDemo

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def console_url(live: LiveDemo) -> str:
    return live.handle.url.removesuffix("/graphql") + "/console/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API runs its own event loop, which must be gone before
    the asyncio tests of other modules start."""
    if not CHROMIUM.exists():
        if os.environ.get("ONEPANE_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing and ONEPANE_REQUIRE_SERVICES is set (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    if os.environ.get("ONEPANE_REQUIRE_SERVICES"):
        import playwright.sync_api as sync_api  # CI installs it with the dev extra: fail, never skip
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    demo = LiveDemo(tmp_path_factory.mktemp("console-demo"))
    yield demo
    demo.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Errors the page logged; a test that provokes one on purpose clears it."""
    return []


@pytest.fixture
def page(browser: Any, live: LiveDemo, console_errors: list[str]) -> Iterator[Any]:
    """A fresh 1280 px tab on the console; console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    tab = context.new_page()
    errors = console_errors
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.goto(console_url(live))
    yield tab
    context.close()
    assert not errors, errors


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (kept by CI as a test artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
