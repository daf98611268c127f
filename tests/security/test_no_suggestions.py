"""No "Did you mean" for a role that may not introspect: it would name fields one guess at a time (finding 7)."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw

PROBES = [
    '{ purchases(filter: {cardLast5: "4417"}) { nodes { id } } }',
    "{ purchases(first: 1) { nodes { idd } } }",
    "{ customerz { id } }",
    '{ customers(emial: "a@b.co") { id } }',
    "{ purchases(filter: {channel: WEBB}) { nodes { id } } }",
    "query($f: PurchaseFilter) { purchases(filter: $f) { nodes { id } } }",
]


@pytest.mark.parametrize("role", ["agent", "analyst"])
@pytest.mark.parametrize("query", PROBES, ids=range(len(PROBES)))
def test_no_suggestions_without_introspection(secured: LiveDemo, role: str, query: str) -> None:
    variables = {"f": {"cardLast5": "4417"}} if "$f" in query else None
    status, body = post_raw(secured.handle.url, query, variables, headers=api_key(role))
    assert status == 200, body
    assert body.get("errors"), body
    assert "Did you mean" not in json.dumps(body), body["errors"]


def test_admin_with_introspection_still_gets_suggestions(secured: LiveDemo) -> None:
    status, body = post_raw(secured.handle.url, "{ customerz { id } }", headers=api_key("admin"))
    assert status == 200 and "Did you mean" in json.dumps(body)
