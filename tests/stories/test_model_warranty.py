"""The warranty system added to the demo by configuration alone (docs/model.md), over HTTP."""

from __future__ import annotations

from tests.stories.conftest import LiveDemo, post, story


def test_story6_customer_warranties_beside_the_purchase_they_cover(demo: LiveDemo) -> None:
    body = post(demo.handle.url, story("story6_warranties"))
    assert body.get("errors") is None, body["errors"]
    assert body["extensions"]["sources"]["warranty"]["ok"]
    (zoe,) = body["data"]["customers"]
    assert zoe["name"] == "Zoë Hart"
    assert [(w["policyNumber"], w["plan"], w["status"], w["startsOn"], w["endsOn"], w["premium"])
            for w in zoe["warranties"]] == [
        ("WP-88410", "EXTENDED", "ACTIVE", "2025-11-28", "2028-11-27", {"amount": "129.00", "currency": "GBP"}),
        ("WP-88411", "ACCIDENTAL_DAMAGE", "ACTIVE", "2025-11-28", "2027-11-27", {"amount": "89.00", "currency": "GBP"}),
    ]
    for warranty in zoe["warranties"]:
        assert warranty["source"] == "warranty"
        assert warranty["purchase"] == {"orderNumber": "BF-2025-0042", "channel": "STORE",
                                        "store": {"name": "OXFORD STREET"}}
    assert body["data"]["warranty"] == {"product": "Washing machine 9kg", "customer": {"name": "Zoë Hart"}}
    assert body["data"]["active"] == [{"policyNumber": "WP-88411", "product": "Tumble dryer 8kg",
                                       "endsOn": "2027-11-27"}]


def test_declared_roots_list_filter_and_lookup_by_key(demo: LiveDemo) -> None:
    body = post(demo.handle.url, """{
      all: warranties { policyNumber status endsOn }
      cancelled: warranties(status: CANCELLED) { policyNumber customer { name } }
      none: warranty(policyNumber: "WP-00000") { product }
      order: purchase(id: "pos:0012:77120") { warranties { policyNumber } }
    }""")
    assert body.get("errors") is None, body["errors"]
    data = body["data"]
    assert [w["policyNumber"] for w in data["all"]] == ["WP-71002", "WP-88411", "WP-80517", "WP-88410"]
    assert data["cancelled"] == [{"policyNumber": "WP-80517", "customer": {"name": "Peter Wilson"}}]
    assert data["none"] is None
    assert {w["policyNumber"] for w in data["order"]["warranties"]} == {"WP-88410", "WP-88411"}


def test_a_bad_argument_to_a_declared_root_is_a_query_error(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ warranties(status: LOST) { policyNumber } }')
    assert body["errors"] and "LOST" in body["errors"][0]["message"]
