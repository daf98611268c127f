"""Fuzz the live schema with hypothesis-graphql: never a 500, never an unmasked email for the agent."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw

SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text("utf-8")
RAW_EMAIL = re.compile(r"\b[a-z0-9._%+-]{2,}@example\.(com|net|org)", re.IGNORECASE)
SCALARS = {
    "DateTime": st.sampled_from(["2025-11-18T16:30:00+00:00", "2025-01-01T00:00:00Z"]).map(
        lambda v: __import__("graphql").StringValueNode(value=v)),
    "Date": st.just("2025-11-18").map(lambda v: __import__("graphql").StringValueNode(value=v)),
    "Decimal": st.sampled_from(["89.99", "0", "-1"]).map(lambda v: __import__("graphql").StringValueNode(value=v)),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(query=from_schema(SDL, custom_scalars=SCALARS))
def test_no_server_error_and_no_unmasked_email(secured: LiveDemo, query: str) -> None:
    status, body = post_raw(secured.handle.url, query, headers=api_key("agent"))
    assert status == 200, (query, body)
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL", (query, error)
    assert not RAW_EMAIL.search(json.dumps(body.get("data"))), query


# Contact data in clear: an email of the demo's domains, a phone number (10+ digits, maybe
# spaced or with +), a card number (13-19 digits). Record ids and amounts are shorter.
RAW_PHONE = re.compile(r"(?<![\w:*])\+?\d(?:[ ]?\d){9,}(?!\w)")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(query=from_schema(SDL, custom_scalars=SCALARS), role=st.sampled_from(["agent", "analyst"]))
def test_no_unmasked_contact_data_for_any_restricted_role(secured: LiveDemo, query: str, role: str) -> None:
    status, body = post_raw(secured.handle.url, query, headers=api_key(role))
    assert status == 200, (query, body)
    data = json.dumps(body.get("data"))
    assert not RAW_EMAIL.search(data), (role, query)
    assert not RAW_PHONE.search(data), (role, query, RAW_PHONE.search(data))
