"""Record ids are never masked (issue 25): a source whose ids look like a phone or a card number
keeps them readable for a role that redacts contact data, in every place an id appears."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.security.conftest import SECURITY, api_key
from tests.stories.conftest import LiveDemo, post

CARD_LIKE, PHONE_LIKE = "4111111111111111", "07700900123"  # a Luhn-valid 16-digit id; an 11-digit one


def _source(folder: Path, name: str, rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    with sqlite3.connect(folder / f"{name}.db") as db:
        db.execute("CREATE TABLE people (id TEXT PRIMARY KEY, full_name TEXT, email TEXT)")
        db.executemany("INSERT INTO people VALUES (?, ?, ?)", rows)
    return {"type": "sql", "url": f"sqlite+aiosqlite:///{name}.db", "entities": {"Customer": {
        "table": "people", "id": "id", "fields": {"name": "full_name", "emails": "email"},
        "keys": {"email": "email"}}}}


@pytest.fixture(scope="module")
def ids_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    folder = tmp_path_factory.mktemp("record-ids")
    config = {"sources": {
        "till": _source(folder, "till", [(CARD_LIKE, "ANN LEE", "ann.lee@example.com")]),
        "crm": _source(folder, "crm", [(PHONE_LIKE, "Annie Lee", "ann.lee@example.com")]),
    }, "security": SECURITY}
    live = LiveDemo(folder, yaml.safe_dump(config, sort_keys=False))
    yield live
    live.close()


def test_ids_that_look_like_contact_data_stay_readable(ids_live: LiveDemo) -> None:
    query = """query($id: ID!) { customer(id: $id) { id source sourceRecords { source localId linkedBy }
                 conflicts { field values { value source localId } } } }"""
    customer = post(ids_live.handle.url, query, {"id": f"till:{CARD_LIKE}"}, api_key("agent"))["data"]["customer"]
    assert customer["id"] == f"till:{CARD_LIKE}"
    assert {r["localId"] for r in customer["sourceRecords"]} == {CARD_LIKE, PHONE_LIKE}
    reasons = [reason for r in customer["sourceRecords"] for reason in r["linkedBy"]]
    assert f"email = a***@example.com ~ crm:{PHONE_LIKE}" in reasons
    assert f"email = a***@example.com ~ till:{CARD_LIKE}" in reasons
    (name,) = customer["conflicts"]
    assert {v["localId"] for v in name["values"]} == {CARD_LIKE, PHONE_LIKE}
