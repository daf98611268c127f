"""Variables that do not fit their declared types are the caller's mistake: BAD_USER_INPUT naming the
variable, never INTERNAL with a traceback in the log (security finding 5)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo, post_raw

PURCHASES = "query($n: Int!, $f: PurchaseFilter) { purchases(first: $n, filter: $f) { nodes { id } } }"

BAD: list[tuple[str, dict[str, Any]]] = [
    ("text for an Int", {"n": "abc"}),
    ("an Int out of range", {"n": 2**40}),
    ("an unknown input field", {"n": 1, "f": {"nosuchField": 1}}),
    ("a date that is no date", {"n": 1, "f": {"placedFrom": "2025-13-45"}}),
    ("a Decimal that is no number", {"n": 1, "f": {"amount": "sNaN"}}),
    ("a Decimal that is NaN", {"n": 1, "f": {"amount": "NaN"}}),
    ("an unknown enum value", {"n": 1, "f": {"channel": "TELEPATHY"}}),
]


@pytest.mark.parametrize(("case", "variables"), BAD, ids=[c for c, _ in BAD])
def test_a_bad_variable_is_bad_user_input(secured: LiveDemo, caplog: pytest.LogCaptureFixture, case: str,
                                          variables: dict[str, Any]) -> None:
    with caplog.at_level(logging.ERROR):
        status, body = post_raw(secured.handle.url, PURCHASES, variables, headers=api_key("admin"))
    assert status == 200, body
    codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
    assert codes == {"BAD_USER_INPUT"}, body["errors"]
    assert any("$" in e["message"] or "Variable" in e["message"] for e in body["errors"]), body["errors"]
    assert "Traceback" not in json.dumps(body)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
