"""A match key read from several columns (a phone and a fax, an email and an alternative
email) is looked up in every one of them: `customers(phone:)` finds the customer by its fax."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from connectors.sdk import ConnectorContext
from connectors.sql import SqlConnector
from federation.model import builtin_model

ROWS = [
    ("C1", "Ann Lee", "020 7946 0958", "020 7946 0999", "ann@example.com", None),
    ("C2", "Bob Stone", "0161 496 0000", None, "bob@example.com", "BOB@work.example"),
    ("C3", "Cara Diaz", None, "+44 113 496 0111", None, "cara@example.com"),
]


def connector(tmp_path: Path, keys: dict[str, object], **extra: object) -> SqlConnector:
    path = tmp_path / "crm.db"
    if not path.exists():
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE people (id TEXT, name TEXT, tel TEXT, fax TEXT, email TEXT, email2 TEXT)")
            db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///crm.db", "entities": {"Customer": {
        "table": "people", "id": "id", "fields": {"name": "name"}, "keys": keys, **extra}}})
    return SqlConnector("crm", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))


async def test_a_key_from_two_columns_is_looked_up_in_both(tmp_path: Path) -> None:
    # A step sees the list of values, not each value: SQL could not repeat it column by column.
    for steps in ([{"join": " "}], ["strip"]):
        stepped = connector(tmp_path, {"phone": {"columns": ["tel", "fax"], "transform": steps}})
        assert "key:phone" not in stepped.capabilities().entities["Customer"].lookups
    crm = connector(tmp_path, {"phone": {"columns": ["tel", "fax"]}, "email": {"columns": ["email", "email2"]}})
    assert crm.problems() == []
    assert {"key:phone", "key:email"} <= crm.capabilities().entities["Customer"].lookups
    await crm.open()
    try:
        by_fax = await crm.lookup("Customer", "key:phone", ["+442079460999"])
        assert [r.local_id for r in by_fax] == ["C1"]
        by_tel = await crm.lookup("Customer", "key:phone", ["+442079460958", "+441134960111"])
        assert sorted(r.local_id for r in by_tel) == ["C1", "C3"]
        assert await crm.lookup("Customer", "key:phone", ["+441619999999"]) == []
        # Two lookups in one statement, each over both of its columns.
        both = await crm.lookup_many("Customer", {"key:phone": ["+441614960000"],
                                                  "key:email": ["cara@example.com"]})
        assert sorted(r.local_id for r in both) == ["C2", "C3"]
        by_second = await crm.lookup("Customer", "key:email", ["bob@work.example"])
        assert [r.local_id for r in by_second] == ["C2"]
        assert by_second[0].keys["email"] == ("bob@example.com", "bob@work.example")
    finally:
        await crm.close()


async def test_index_advice_names_each_column_and_a_lookup_column_is_refused(tmp_path: Path) -> None:
    crm = connector(tmp_path, {"phone": {"columns": ["tel", "fax"]}})
    await crm.open()
    try:
        advice = await crm.index_advice(None)  # every lookup, as `federation indexes --all` (the table is small)
    finally:
        await crm.close()
    assert any("key:phone: read from columns tel, fax" in line for line in advice), advice
    stored = connector(tmp_path, {"phone": {"columns": ["tel", "fax"]}}, lookup_columns={"key:phone": "tel"})
    assert stored.problems() == ["entities.Customer.lookup_columns.key:phone: this key is read from several "
                                 "columns (tel, fax); one lookup column cannot hold them all"]

