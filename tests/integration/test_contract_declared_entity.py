"""Declared entities over SQLite, served over HTTP: a value that does not fit its declared type
is a field error naming source, entity, field and key while the rest of the answer stands; a
field added to a built-in entity is served like a built-in one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

from federation.security.settings import open_access
from tests.integration.test_contract_graphql_benchmarks import ask, gateway
from tests.unit.test_model_config import GOOD


def database(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, rep TEXT);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT);
        INSERT INTO users VALUES (1, 'Ada', 'ada@example.org', 'Rita'), (2, 'Brook', 'brook@example.org', NULL);
        INSERT INTO posts VALUES (1, '1', 'first'), (2, 'seven', 'broken author'), (3, '2', 'third');
    """)
    con.commit()
    con.close()


def config(tmp_path: Path) -> Path:
    database(tmp_path / "blog.db")
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(GOOD))
    data["model"]["entities"]["Customer"] = {"fields": {"supportRep": {"type": "String"}}}
    entities = data["sources"]["db"]["entities"]
    data["sources"]["db"]["url"] = "sqlite+aiosqlite:///blog.db"
    entities["Customer"] = {"table": "users", "id": "id", "fields": {"name": "name", "emails": "email",
                                                                     "supportRep": "rep"}, "keys": {"email": "email"}}
    data["security"] = open_access()
    path = tmp_path / "blog.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


async def test_a_value_that_does_not_fit_is_a_field_error_and_the_rest_stands(tmp_path: Path) -> None:
    async with gateway(config(tmp_path), "") as url:
        body = await ask(url, '{"query": "{posts{id userId title user{name}}}"}')
    assert body["data"]["posts"] == [
        {"id": 1, "userId": 1, "title": "first", "user": {"name": "Ada"}},
        {"id": 2, "userId": None, "title": "broken author", "user": None},
        {"id": 3, "userId": 2, "title": "third", "user": {"name": "Brook"}},
    ]
    (error,) = body["errors"]
    assert error["path"] == ["posts", 1, "userId"]
    assert error["extensions"]["source"] == "db"
    assert error["message"] == ("source 'db': Post db:2 field userId (from table posts, column user_id): "
                                "'seven' is not an integer")


async def test_a_field_added_to_a_builtin_entity_is_served(tmp_path: Path) -> None:
    async with gateway(config(tmp_path), "") as url:
        body = await ask(url, '{"query": "{customers(email: \\"ADA@example.org\\"){name supportRep id}}"}')
    assert body.get("errors") is None, body["errors"]
    assert body["data"]["customers"] == [{"name": "Ada", "supportRep": "Rita", "id": "db:1"}]
