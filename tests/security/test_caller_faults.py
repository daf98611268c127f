"""A caller's own bad values never count against a source: the breaker stays closed for everyone (finding 1)."""

from __future__ import annotations

import json

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw

NORMAL = '{ customers(email: "ann.lee@example.com") { name purchases { id } } }'


def _breakers(body: dict[str, object]) -> dict[str, str]:
    sources = body.get("extensions", {}).get("sources", {})  # type: ignore[union-attr]
    return {name: s["breaker"] for name, s in sources.items()}  # type: ignore[index]


def _flood_then_ask(demo: LiveDemo, query: str, variables: dict[str, object]) -> dict[str, object]:
    for _ in range(15):
        status, body = post_raw(demo.handle.url, query, variables, headers=api_key("admin"))
        assert status == 200, body
        codes = {e["extensions"]["code"] for e in body.get("errors", [])}
        assert codes <= {"BAD_USER_INPUT"}, body["errors"]
        assert "INTERNAL" not in json.dumps(body)
    status, after = post_raw(demo.handle.url, NORMAL, headers=api_key("agent"))
    assert status == 200 and after.get("errors") is None, after.get("errors")
    assert after["data"]["customers"], after  # type: ignore[index]
    return after


def test_an_amount_no_column_can_hold_never_opens_a_breaker(secured: LiveDemo) -> None:
    query = "query($a: Decimal) { purchases(filter: {amount: $a}) { nodes { id } } }"
    after = _flood_then_ask(secured, query, {"a": "1e999999"})
    assert set(_breakers(after).values()) == {"closed"}, _breakers(after)


def test_a_huge_lookup_value_never_opens_a_breaker(secured: LiveDemo) -> None:
    query = "query($v: String!) { customers(loyaltyNumber: $v) { id } }"
    after = _flood_then_ask(secured, query, {"v": "7" * 10_000})
    assert set(_breakers(after).values()) == {"closed"}, _breakers(after)
