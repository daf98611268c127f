"""GraphiQL at /graphql works with no internet: every file it needs comes from the gateway itself."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.request
from typing import Any
from urllib.parse import urljoin, urlsplit

from tests.browser.conftest import shot
from tests.stories.conftest import LiveDemo


def _get(url: str, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept, "Accept-Encoding": "identity"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_page_names_only_files_this_gateway_serves_byte_for_byte(live: LiveDemo) -> None:
    url = live.handle.url
    status, _, body = _get(url, accept="text/html")
    page = body.decode()
    assert status == 200 and "graphiql" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="([^"]+)"', page)
    assert len(assets) == 7, assets
    for address, integrity in assets:
        full = urljoin(url, address)
        assert urlsplit(full).netloc == urlsplit(url).netloc, f"{address} is not served by the gateway"
        status, headers, data = _get(full)
        assert status == 200
        # The browser refuses a file whose hash differs from the page's integrity attribute.
        assert integrity == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(), address
        assert "immutable" in headers["Cache-Control"]


def test_unknown_or_escaping_asset_paths_are_not_found(live: LiveDemo) -> None:
    base = live.handle.url.removesuffix("/graphql")
    for path in ("/graphiql/nothing.js", "/graphiql/../server.py", "/graphiql/%2e%2e/__init__.py",
                 "/graphiql/graphiql@3.8.3"):
        try:
            status = _get(base + path)[0]
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 404, path


def test_graphiql_runs_a_query_with_every_other_host_blocked(browser: Any, live: LiveDemo) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    gateway = urlsplit(live.handle.url).netloc
    elsewhere: list[str] = []

    def offline(route: Any) -> None:
        if urlsplit(route.request.url).netloc in (gateway, ""):
            route.continue_()
        else:  # a network without the internet: the request never leaves the machine
            elsewhere.append(route.request.url)
            route.abort()

    tab.route("**/*", offline)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(live.handle.url)
    tab.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
    editor = tab.locator(".graphiql-query-editor .CodeMirror").first
    tab.evaluate("""() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
        .setValue('{ customers(email: "ann.lee@example.com") { name } }')""")
    assert editor.is_visible()
    tab.locator(".graphiql-execute-button").click()
    tab.wait_for_function("() => document.querySelector('.result-window')?.innerText.includes('Ann Lee')",
                          timeout=15_000)
    shot(tab, "graphiql-offline")
    context.close()
    assert not elsewhere, elsewhere
    assert not errors, errors
