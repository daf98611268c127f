"""Malformed HTTP requests are the caller's mistake: a 400 with a JSON body and `extensions.code`,
no Python text, the caller's input echoed at most 100 characters, and later requests unharmed (finding 6)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post

MALFORMED: list[tuple[str, bytes, str]] = [
    ("a JSON string", b'"hello"', "application/json"),
    ("raw non-UTF-8 bytes", b'{"query": "{ __typename }", "x": "\xff\xfe"}', "application/json"),
    ("operationName a number", b'{"query": "{ __typename }", "operationName": 5}', "application/json"),
    ("broken JSON", b'{"query": ', "application/json"),
    ("variables a list", b'{"query": "{ __typename }", "variables": [1]}', "application/json"),
    ("variables nested deep", b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000
     + b"}}", "application/json"),
    ("a JSON array", json.dumps([{"query": "{ __typename }"}] * 3).encode(), "application/json"),
    ("a long query that is not a string", b'{"query": ' + b"1" * 5000 + b"}", "application/json"),
]


def _raw(url: str, body: bytes, content_type: str, headers: dict[str, str]) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8", "replace")


@pytest.mark.parametrize(("case", "body", "content_type"), MALFORMED, ids=[c for c, _, _ in MALFORMED])
def test_a_malformed_request_is_a_coded_400(secured: LiveDemo, case: str, body: bytes, content_type: str) -> None:
    status, kind, text = _raw(secured.handle.url, body, content_type, api_key("admin"))
    assert status == 400, (status, text[:300])
    assert kind.startswith("application/json"), (kind, text[:300])
    answer = json.loads(text)
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST", answer
    message = answer["errors"][0]["message"]
    assert "Traceback" not in message and "Error(" not in message and len(message) < 300, message
    assert "1" * 101 not in message
    # and the gateway still answers the next caller
    assert post(secured.handle.url, "{ __typename }", headers=api_key("admin"))["data"] == {"__typename": "Query"}
