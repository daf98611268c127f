"""GET /console/document: the role's generated documents, authenticated like /graphql and allowed
by the persisted-query allow-list (they are registered like persisted documents)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import orjson

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw


def get_document(live: LiveDemo, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    url = live.handle.url.replace("/graphql", "/console/document")
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_generated_documents_pass_the_allow_list_and_others_do_not(secured: LiveDemo) -> None:
    status, _ = get_document(secured, {})
    assert status == 401
    status, body = get_document(secured, api_key("agent"))
    assert status == 200
    search = body["documents"]["search.email"]
    assert "warranties" in search
    assert body["sources"]["warranty"]["label"] == "Extended-warranty provider"
    assert "Warranty" in body["sources"]["warranty"]["entities"]
    status, answer = post_raw(secured.handle.url, search, {"email": "ann.lee@example.com"}, api_key("agent"))
    assert status == 200 and answer["data"]["email"][0]["name"] == "Ann Lee", answer
    edited = search.replace("  name\n", "  name\n  __typename\n", 1)
    _, refused = post_raw(secured.handle.url, edited, {"email": "ann.lee@example.com"}, api_key("agent"))
    assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
