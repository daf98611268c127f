"""The role-by-field matrix: what each role sees of the same customer, masked in one layer."""

from __future__ import annotations

import json
import re

import pytest

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post, story

CUSTOMER = """{ customer(id: "crm:C-1001") {
  name emails phones dateOfBirth
  sourceRecords { source linkedBy }
  purchases { orderNumber total { amount } payments { kind cardLast4 amount { amount } }
              conflicts { field values { value source } } }
  timeline { kind summary }
} }"""
RAW_EMAIL = re.compile(r"\b[a-z0-9._%+-]{2,}@example\.(com|net|org)", re.IGNORECASE)


def test_admin_sees_everything_unmasked(secured: LiveDemo) -> None:
    body = post(secured.handle.url, CUSTOMER, headers=api_key("admin"))
    assert body.get("errors") is None
    ann = body["data"]["customer"]
    assert "ann.lee@example.com" in ann["emails"]
    assert ann["phones"] == ["+447700900101"]


def test_agent_sees_masked_contact_data_everywhere_it_appears(secured: LiveDemo) -> None:
    body = post(secured.handle.url, CUSTOMER, headers=api_key("agent"))
    assert body.get("errors") is None
    ann = body["data"]["customer"]
    assert ann["name"] == "Ann Lee"
    assert sorted(ann["emails"]) == ["a***@example.com", "a***@example.net"]
    assert ann["phones"] == ["*********101"]
    cards = {p["cardLast4"] for o in ann["purchases"] for p in o["payments"]}
    assert cards == {"4242"}
    links = [link for r in ann["sourceRecords"] for link in r["linkedBy"]]
    assert links and all("ann.lee@" not in link and "7700900101" not in link for link in links)
    assert not RAW_EMAIL.search(json.dumps(body)), "an email escaped the mask"


def test_agent_may_not_list_sources(secured: LiveDemo) -> None:
    body = post(secured.handle.url, "{ sources { name } }", headers=api_key("agent"))
    assert body["data"] == {"sources": []}


def test_analyst_reads_purchases_but_no_customer_data(secured: LiveDemo) -> None:
    query = ('{ purchases(filter: {channel: STORE}, first: 50) '
             '{ nodes { id total { amount } items { name } customer { name } } } }')
    body = post(secured.handle.url, query, headers=api_key("analyst"))
    nodes = body["data"]["purchases"]["nodes"]
    assert {"pos:0078:30455", "pos:0078:30102"} <= {n["id"] for n in nodes}
    assert all(n["customer"] in (None, {"name": None}) for n in nodes)
    forbidden = {(e["extensions"]["code"], e["path"][-1]) for e in body["errors"]}
    assert forbidden == {("FORBIDDEN", "name")}


def test_analyst_cannot_query_customers_at_all(secured: LiveDemo) -> None:
    body = post(secured.handle.url, '{ customers(email: "ann.lee@example.com") { name } }', headers=api_key("analyst"))
    assert body["data"] == {"customers": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("agent", False), ("analyst", False)])
def test_introspection_follows_the_role(secured: LiveDemo, role: str, allowed: bool) -> None:
    body = post(secured.handle.url, "{ __schema { queryType { name } } }", headers=api_key(role))
    if allowed:
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    else:
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(("role", "suggests"), [("admin", True), ("agent", False)])
def test_validation_errors_suggest_names_only_to_roles_that_may_introspect(secured: LiveDemo, role: str,
                                                                          suggests: bool) -> None:
    body = post(secured.handle.url, '{ customerz(email: "a@b.c") { nme } }', headers=api_key(role))
    (error,) = body["errors"]
    assert error["message"].startswith("Cannot query field 'customerz' on type 'Query'.")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert ("Did you mean" in error["message"]) is suggests
    assert ("customer" in error["message"].removeprefix("Cannot query field 'customerz'")) is suggests


def test_every_story_still_answers_for_the_agent_with_no_raw_email(secured: LiveDemo) -> None:
    for name in ("story1_preorder", "story2_store_purchase", "story3_double_delivery", "story4_no_receipt"):
        body = post(secured.handle.url, story(name), headers=api_key("agent"))
        assert body.get("errors") is None, (name, body.get("errors"))
        assert not RAW_EMAIL.search(json.dumps(body["data"])), name
