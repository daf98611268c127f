"""`__typename` is readable for every role: Apollo Client and Relay add it to every selection (finding 9)."""

from __future__ import annotations

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw


def test_a_masking_role_reads_typename(secured: LiveDemo) -> None:
    query = '{ customers(email: "ann.lee@example.com") { __typename id emails purchases { __typename id } } }'
    status, body = post_raw(secured.handle.url, query, headers=api_key("agent"))
    assert status == 200, body
    assert body.get("errors") is None, body["errors"]
    customer = body["data"]["customers"][0]
    assert customer["__typename"] == "Customer"
    assert customer["purchases"][0]["__typename"] == "Purchase"
    assert "ann.lee@example.com" not in str(customer["emails"])


def test_an_allow_list_role_reads_typename_of_connections(secured: LiveDemo) -> None:
    query = "{ __typename purchases(first: 2) { __typename nodes { __typename id } pageInfo { __typename } } }"
    status, body = post_raw(secured.handle.url, query, headers=api_key("analyst"))
    assert status == 200, body
    assert body.get("errors") is None, body["errors"]
    assert body["data"]["__typename"] == "Query"
    assert body["data"]["purchases"]["__typename"] == "PurchaseConnection"
    assert {node["__typename"] for node in body["data"]["purchases"]["nodes"]} == {"Purchase"}
