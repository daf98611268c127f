"""/sql under the role layer: masked columns read masked, denied ones do not exist, no credentials no rows."""

from __future__ import annotations

from tests.security.conftest import api_key
from tests.stories.conftest import LiveDemo
from tests.stories.test_sql import ask


def test_without_credentials_nothing_is_read(secured: LiveDemo) -> None:
    status, _ = ask(secured, "SELECT * FROM purchases")
    assert status == 401


def test_masked_contacts_read_masked(secured: LiveDemo) -> None:
    status, body = ask(secured, "SELECT emails, phones, date_of_birth FROM customers WHERE len(emails) > 0",
                       api_key("agent"))
    assert status == 200, body
    assert body["rows"]
    for emails, phones, _born in body["rows"]:
        assert all("***" in e for e in emails), emails  # a***@example.com, never the address
        assert all("*" in p for p in phones), phones
    admin = ask(secured, "SELECT emails FROM customers WHERE len(emails) > 0", api_key("admin"))[1]
    assert any("***" not in e for row in admin["rows"] for e in row[0])


def test_a_denied_table_or_column_does_not_exist(secured: LiveDemo) -> None:
    status, body = ask(secured, "SELECT name FROM customers", api_key("analyst"))
    assert status == 400
    message = body["errors"][0]["message"]
    assert "customers" not in message.partition("tables:")[2]  # not offered either
    status, body = ask(secured, "SELECT card_last4 FROM payments", api_key("analyst"))
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_SQL"
    status, body = ask(secured, "SELECT kind, amount FROM payments", api_key("analyst"))
    assert status == 200, body
    assert "customer_id" not in {c["name"] for c in ask(secured, "SELECT * FROM purchases LIMIT 1",
                                                         api_key("analyst"))[1]["columns"]}
