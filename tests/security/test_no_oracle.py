"""A role may filter, look up or group only by fields it may read (issue 25, finding 4)."""

from __future__ import annotations

import pytest

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post


@pytest.mark.parametrize(("role", "query", "field"), [
    ("analyst", '{ purchases(filter: {cardLast4: "4417"}) { nodes { id } } }', "Payment.cardLast4"),
    ("analyst", '{ purchases(filter: {customerId: "crm:C-1001"}) { nodes { id } } }', "Customer.id"),
    ("analyst", "{ purchaseStats(groupBy: CUSTOMER) { groups { key label } } }", "Customer.id"),
    ("analyst", '{ purchaseStats(groupBy: DAY, filter: {cardLast4: "4417"}) { purchases } }', "Payment.cardLast4"),
])
def test_probing_by_a_field_the_role_may_not_read_is_forbidden(secured: LiveDemo, role: str, query: str,
                                                               field: str) -> None:
    body = post(secured.handle.url, query, headers=api_key(role))
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and field in error["message"]
    assert not any(body["data"].values()) if body.get("data") else True


def test_filtering_by_readable_fields_still_works(secured: LiveDemo) -> None:
    body = post(secured.handle.url, '{ purchases(filter: {channel: STORE}, first: 2) { nodes { id } } }',
                headers=api_key("analyst"))
    assert body.get("errors") is None and len(body["data"]["purchases"]["nodes"]) == 2
