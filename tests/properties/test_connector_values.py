"""Both connectors, fed arbitrary values (JSON bodies from a loopback API, SQLite columns holding
any type: SQLite lets a column hold whatever was stored), give each field a value of its type or
a labelled field error showing the raw value; a body they cannot read is a SourceError. Nothing
else escapes, and no junk is served as a value."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.rest import RestConnector
from connectors.sdk import ConnectorContext, SearchRequest, SourceError
from connectors.sql import SqlConnector
from tests.properties.edge import MODEL, TEXTS, TYPES, check_field, json_values

BODY = web.AppKey("body", dict)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

# Where each Probe field is read from and through what (both connectors read the same names).
FIELDS: dict[str, dict[str, Any]] = {
    "s": {"transform": ["strip"]}, "ss": {"transform": [{"split": ","}]}, "i": {}, "f": {}, "b": {}, "d": {},
    "dt": {}, "m": {"extra": "cur", "transform": [{"money": "GBP"}]}, "dec": {}, "tone": {}, "side": {},
    "tones": {"transform": ["strip", {"split": ","}]},
}


def _fields(kind: str) -> dict[str, Any]:
    origin = "paths" if kind == "rest" else "columns"
    return {name: {origin: [name, *([spec["extra"]] if "extra" in spec else [])],
                   **({"transform": spec["transform"]} if "transform" in spec else {})}
            for name, spec in FIELDS.items()}


@pytest.fixture(name="loop", scope="module")
def loop_fixture() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


# REST: one endpoint answering whatever body the example set.

# Integers orjson reads exactly (a larger one arrives as a float, which the fields refuse as such).
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                          st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(TEXTS),
                          st.text(max_size=12))
_JSON = json_values(_JSON_SCALARS)
_ROWS = st.lists(st.fixed_dictionaries({}, optional={name: _JSON for name in [*FIELDS, "cur"]}),
                 min_size=1, max_size=4)


@pytest.fixture(name="api", scope="module")
def api_fixture(loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[RestConnector, web.Application]]:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(request.app[BODY]["body"])

    app = web.Application()
    app[BODY] = {"body": {"data": []}}
    app.router.add_get("/probe", answer)
    server = TestServer(app, host="127.0.0.1")
    loop.run_until_complete(server.start_server())
    options = RestConnector.validate_options({"base_url": str(server.make_url("/")), "entities": {"Probe": {
        "path": "/probe", "records": "data", "id": {"path": "id"}, "fields": _fields("rest")}}})
    connector = RestConnector("api", options, ConnectorContext(model=MODEL, base_dir=tmp_path_factory.mktemp("r")))
    assert connector.problems() == []
    loop.run_until_complete(connector.open())
    yield connector, app
    loop.run_until_complete(connector.close())
    loop.run_until_complete(server.close())


@SETTINGS
@given(rows=_ROWS)
def test_rest_records_hold_typed_values_or_labelled_errors(
        api: tuple[RestConnector, web.Application], loop: asyncio.AbstractEventLoop, rows: list[dict[str, Any]]
) -> None:
    connector, app = api
    app[BODY]["body"] = {"data": [{**row, "id": i + 1} for i, row in enumerate(rows)]}
    records = {r.local_id: r for r in loop.run_until_complete(connector.search("Probe", SearchRequest()))}
    assert len(records) == len(rows)
    for i, row in enumerate(rows):
        record = records[str(i + 1)]
        for name in FIELDS:
            raw = [row.get(name), row.get("cur")] if name == "m" else row.get(name)
            check_field(record, name, raw)


@SETTINGS
@given(body=_JSON)
def test_any_rest_body_is_records_or_a_source_error(
        api: tuple[RestConnector, web.Application], loop: asyncio.AbstractEventLoop, body: Any) -> None:
    connector, app = api
    app[BODY]["body"] = body
    try:
        records = loop.run_until_complete(connector.search("Probe", SearchRequest()))
    except SourceError as exc:
        assert exc.code and "Traceback" not in str(exc)
        return
    for record in records:
        assert set(record.fields) <= set(TYPES)


# SQL: SQLite columns of every affinity (and none), holding values of any stored type.

_SQLITE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                           st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TEXTS),
                           st.text(max_size=12), st.binary(max_size=6))
_COLUMNS = {"s": "TEXT", "ss": "", "i": "INTEGER", "f": "REAL", "b": "", "d": "DATE", "dt": "", "m": "NUMERIC",
            "cur": "TEXT", "dec": "DECIMAL(10,2)", "tone": "TEXT", "side": "", "tones": ""}


@pytest.fixture(name="db", scope="module")
def db_fixture(loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[SqlConnector, Path]]:
    folder = tmp_path_factory.mktemp("sql")
    with sqlite3.connect(folder / "legacy.db") as db:
        db.execute(f"CREATE TABLE probe (id TEXT PRIMARY KEY, {', '.join(f'{c} {t}' for c, t in _COLUMNS.items())})")
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///legacy.db", "entities": {"Probe": {
        "table": "probe", "id": "id", "fields": _fields("sql")}}})
    connector = SqlConnector("legacy", options, ConnectorContext(model=MODEL, base_dir=folder))
    assert connector.problems() == []
    yield connector, folder / "legacy.db"
    loop.run_until_complete(connector.close())


@SETTINGS
@given(rows=st.lists(st.fixed_dictionaries({c: _SQLITE_VALUES for c in _COLUMNS}), min_size=1, max_size=4))
def test_sql_records_hold_typed_values_or_labelled_errors(
        db: tuple[SqlConnector, Path], loop: asyncio.AbstractEventLoop, rows: list[dict[str, Any]]) -> None:
    connector, path = db
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM probe")
        conn.executemany(f"INSERT INTO probe VALUES (?, {', '.join('?' for _ in _COLUMNS)})",
                         [(f"r{i}", *row.values()) for i, row in enumerate(rows)])
        stored = {f"r{i}": conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM probe WHERE id = ?", (f"r{i}",)).fetchone()
                  for i in range(len(rows))}
    conn.close()
    records = {r.local_id: r for r in loop.run_until_complete(connector.search("Probe", SearchRequest()))}
    assert set(records) == set(stored)
    for local_id, values in stored.items():
        held = dict(zip(_COLUMNS, values, strict=True))  # as SQLite stored it, after column affinity
        for name in FIELDS:
            check_field(records[local_id], name, [held["m"], held["cur"]] if name == "m" else held[name])
