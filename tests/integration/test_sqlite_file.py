"""A SQLite source is opened read-only: a missing file is SOURCE_UNAVAILABLE, never a new empty
database, and the source recovers by itself once the file is back (issue 18, files and locks)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from connectors.sdk import ConnectorContext, SearchRequest
from connectors.sql import SqlConnector
from federation.errors import SourceError, SourceUnavailable
from federation.model import builtin_model


def _make_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE PRODUCT (SKU_ID TEXT PRIMARY KEY, DESCR TEXT)")
        db.execute("INSERT INTO PRODUCT VALUES ('S-1', 'Kettle')")


def _connector(folder: Path, timeout: float = 2.0) -> SqlConnector:
    options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///pos.db", "statement_timeout": timeout,
                                             "entities": {"Product": {"table": "PRODUCT", "id": "SKU_ID",
                                                                      "fields": {"name": "DESCR"}}}})
    return SqlConnector("pos", options, ConnectorContext(model=builtin_model(), base_dir=folder))


async def test_a_missing_file_is_unavailable_and_never_created(tmp_path: Path) -> None:
    connector = _connector(tmp_path)
    try:
        with pytest.raises(SourceUnavailable):
            await connector.search("Product", SearchRequest())
        assert not (tmp_path / "pos.db").exists()
        _make_db(tmp_path / "pos.db")  # the file comes back: the next call works, no restart
        records = await connector.search("Product", SearchRequest())
        assert [r.fields["name"] for r in records] == ["Kettle"]
    finally:
        await connector.close()


async def test_the_source_never_writes(tmp_path: Path) -> None:
    _make_db(tmp_path / "pos.db")
    before = (tmp_path / "pos.db").read_bytes()
    connector = _connector(tmp_path)
    try:
        await connector.search("Product", SearchRequest())
    finally:
        await connector.close()
    assert (tmp_path / "pos.db").read_bytes() == before
    assert not (tmp_path / "pos.db-journal").exists() and not (tmp_path / "pos.db-wal").exists()


async def test_a_locked_file_answers_within_the_source_timeout(tmp_path: Path) -> None:
    _make_db(tmp_path / "pos.db")
    holder = sqlite3.connect(tmp_path / "pos.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    connector = _connector(tmp_path, timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError):
            await connector.search("Product", SearchRequest())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await connector.close()
    assert time.monotonic() - started < 2.5
