"""Bad input over HTTP: clear errors naming what is wrong, the rest of the answer intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.stories.conftest import LiveDemo, post, story

LEAKS = re.compile(r"Traceback|SELECT |sqlite|aiosqlite|X-Api-Key|File \"", re.IGNORECASE)


def no_leaks(body: dict[str, object]) -> None:
    assert not LEAKS.search(json.dumps(body)), body


def test_unknown_source_reference_is_null_with_a_clear_error(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ customer(id: "nowhere:1") { id } other: customer(id: "shop:99999") { id } }')
    assert body["data"] == {"customer": None, "other": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["customer"], "BAD_USER_INPUT")]
    assert "no source 'nowhere'" in body["errors"][0]["message"] and "shop" in body["errors"][0]["message"]
    no_leaks(body)


def test_a_well_formed_id_that_matches_nothing_is_plain_null(demo: LiveDemo) -> None:
    """Not there is an answer, like `customers(email:)` answering []: no error for the agent to read as a fault."""
    body = post(demo.handle.url, '{ customer(id: "shop:99999") { id } purchase(id: "shop:99999") { id } '
                                 'case(id: "crm:nope") { id } customers(sourceRef: "shop:99999") { id } }')
    assert body.get("errors") is None, body["errors"]
    assert body["data"] == {"customer": None, "purchase": None, "case": None, "customers": []}
    body = post(demo.handle.url, '{ purchases(filter: {customerId: "shop:99999"}) { nodes { id } } }')
    assert body.get("errors") is None, body["errors"]
    assert body["data"] == {"purchases": {"nodes": []}}


def test_malformed_email_names_the_argument_and_an_unheld_phone_matches_nothing(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ a: customers(email: "not-an-email") { id } b: customers(phone: "call me") { id } '
                                 'c: customers(phone: "000") { id } d: customers(phone: "+56 2 635 4444") { id } '
                                 'e: customers(phone: "  ") { id } }')
    assert body["data"] == {"a": None, "b": [], "c": [], "d": [], "e": None}
    by_path = {e["path"][0]: e for e in body["errors"]}
    assert set(by_path) == {"a", "e"}
    assert by_path["a"]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "email"}
    assert by_path["e"]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "phone"}


def test_unparseable_source_date_fails_that_field_only(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ purchase(id: "pos:0034:58100") { id placedAt total { amount } store { name } } }')
    assert body["data"]["purchase"]["id"] == "pos:0034:58100"
    assert body["data"]["purchase"]["placedAt"] is None
    assert body["data"]["purchase"]["total"]["amount"]
    assert body["data"]["purchase"]["store"]["name"] == "MANCHESTER ARNDALE"
    (error,) = body["errors"]
    assert error["path"] == ["purchase", "placedAt"]
    assert error["extensions"] == {"code": "SOURCE_DATA_ERROR", "source": "pos"}
    assert "20251399" in error["message"]
    no_leaks(body)


def test_missing_values_are_null_or_empty_never_text(demo: LiveDemo) -> None:
    body = post(demo.handle.url, story("story2_store_purchase"))
    text = json.dumps(body["data"])
    assert '""' not in text and '"None"' not in text


def test_stopped_source_is_named_and_the_rest_still_answers(tmp_path: Path) -> None:
    live = LiveDemo(tmp_path)
    try:
        live.run(live.handle.crm.cleanup())
        body = post(live.handle.url, story("story1_preorder"))
        (ann,) = body["data"]["customers"]
        assert [r["source"] for r in ann["sourceRecords"]] == ["shop"]
        assert {p["orderNumber"] for p in ann["purchases"]} == {"WEB-100231", "WEB-100163"}
        errors = [e for e in body["errors"] if e["extensions"].get("source") == "crm"]
        assert errors and errors[0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
        assert body["extensions"]["sources"]["crm"]["ok"] is False
        assert body["extensions"]["sources"]["shop"]["ok"] is True
        no_leaks(body)
    finally:
        live.close()
