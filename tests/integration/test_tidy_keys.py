"""`tidy: true` is a fact the config asserts about stored values; when it is false, lookups miss
the rows it is false for, and `federation check` says which declaration and shows a value.

Real source: a SQLite file whose contacts table holds a clerk's email with a space inside.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from connectors.sql import SqlConnector
from federation.contract import ConnectorContext
from federation.model import builtin_model


def connector(folder: Path, email: Any) -> SqlConnector:
    path = folder / "crm.db"
    if not path.exists():
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)")
            db.executemany("INSERT INTO contacts VALUES (?, ?, ?)", [
                (1, "  Ann.Lee@Example.COM", "020 7946 0958"),
                (2, "bob stone@example.org", None),  # typed with a space inside
                (3, "not an email", None)])
    options = SqlConnector.validate_options({"url": f"sqlite+aiosqlite:///{path}", "entities": {"Customer": {
        "table": "contacts", "id": "id", "keys": {"email": email, "phone": "phone"}}}})
    return SqlConnector("crm", options, ConnectorContext(model=builtin_model(), base_dir=folder))


async def test_a_false_tidy_declaration_misses_the_row_and_check_says_so(tmp_path: Path) -> None:
    full = connector(tmp_path, "email")
    tidy = connector(tmp_path, {"column": "email", "tidy": True})
    try:
        wanted = ["ann.lee@example.com", "bobstone@example.org"]
        assert sorted(r.local_id for r in await full.lookup("Customer", "key:email", wanted)) == ["1", "2"]
        # Declared tidy, the lookup compares lower(trim(email)): 'bob stone@…' is not found.
        assert [r.local_id for r in await tidy.lookup("Customer", "key:email", wanted)] == ["1"]
        assert await tidy.warnings() == [
            "entities.Customer.keys.email: declared tidy: true, but 1 of the 3 sampled values are not written as "
            "the key's normal form apart from case and blanks at either end (e.g. 'bob stone@example.org'); "
            "lookups by email do not find those rows: remove tidy: true"]
        assert await full.warnings() == []  # not tidy, and a 3-row table is read whole anyway
    finally:
        await full.close()
        await tidy.close()


def test_only_an_email_or_code_key_can_be_tidy(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    sqlite3.connect(path).close()
    options = SqlConnector.validate_options({"url": f"sqlite+aiosqlite:///{path}", "entities": {"Customer": {
        "table": "contacts", "id": "id", "keys": {"phone": {"column": "phone", "tidy": True}}}}})
    found = SqlConnector("crm", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path)).problems()
    assert found == ["entities.Customer.keys.phone.tidy: only an email or code key can be tidy "
                     "(this key's normalizer is phone)"]
