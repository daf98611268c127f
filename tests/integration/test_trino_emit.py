"""`federation sql --emit-trino`: the views answer what `federation sql` answers, where identity is key-based.

Two legacy systems in PostgreSQL (a shop with pence and YYYYMMDD birth dates, a POS with CHAR(8)
member numbers, clerk-typed emails and day-first local times). `federation sql` answers over
them; the emitted Trino views, transpiled by sqlglot, run on DuckDB over the very same rows (no
Trino server is available here; DuckDB stands in as the engine, the catalogs as attached
databases). Both must give the same customers and purchases.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import fresh_postgres

SCHEMA = """
CREATE SCHEMA shop;
CREATE SCHEMA pos;
CREATE TABLE shop.customers (id integer PRIMARY KEY, name text, email text, born text);
CREATE TABLE shop.orders (id integer PRIMARY KEY, order_no text, customer_id integer, total_pence integer,
                          status char(1), placed_at timestamptz);
CREATE TABLE pos.members (member_no char(8) PRIMARY KEY, full_name text, email text);
CREATE TABLE pos.txns (txn_id integer PRIMARY KEY, receipt_no text, member_no char(8), amount numeric(10,2),
                       sold_at text);
INSERT INTO shop.customers VALUES
  (1, 'Ann Lee', 'ann.lee@example.com', '19800214'),
  (2, 'Bob Stone', 'bob@example.com', '19751301'),
  (3, 'Cy Twombly', NULL, NULL),
  (10, 'Dee Park', 'dee@example.com', '');
INSERT INTO shop.orders VALUES
  (100, 'WEB-100', 1, 2499, 'D', '2025-11-20 10:00:00+00'),
  (101, 'WEB-101', 2, 1000, 'P', '2025-11-21 11:30:00+00'),
  (102, 'WEB-102', 10, 5, 'X', '2025-11-22 09:00:00+00'),
  (103, NULL, 3, NULL, NULL, NULL);
INSERT INTO pos.members VALUES
  ('00000001', 'ANN LEE', ' Ann.Lee @Example.COM '),
  ('00000002', 'Eve Adams', 'eve(at)example'),
  ('00000010', 'Dee Park', 'DEE@example.com');
INSERT INTO pos.txns VALUES
  (7, 'R-1', '00000001', 12.50, '03/12/2025 14:05'),
  (8, 'R-2', '00000002', 3.00, '04/12/2025 09:00'),
  (9, 'R-3', '00000010', 7.25, 'not a date');
"""

CONFIG = """
gateway: {{region: GB}}
security:
  anonymous_role: analyst
  roles:
    analyst: {{allow: ["*"]}}
sources:
  shop:
    type: sql
    url: {url}
    entities:
      Customer:
        table: shop.customers
        id: id
        fields:
          name: name
          emails: email
          dateOfBirth: {{column: born, transform: [{{null_if: ""}}, {{date: YYYYMMDD}}]}}
        keys: {{email: email}}
      Purchase:
        table: shop.orders
        id: id
        fields:
          orderNumber: order_no
          channel: {{value: WEB}}
          status: {{column: status, transform: [{{enum: {{D: DELIVERED, P: PROCESSING}}}}]}}
          placedAt: placed_at
          total: {{column: total_pence, transform: [{{money_minor: GBP}}]}}
        keys: {{orderNumber: order_no}}
        refs: {{customer: customer_id}}
  pos:
    type: sql
    url: {url}
    entities:
      Customer:
        table: pos.members
        id: {{column: member_no, transform: [strip]}}
        fields:
          name: full_name
          emails: email
        keys: {{email: email}}
      Purchase:
        table: pos.txns
        id: txn_id
        fields:
          orderNumber: receipt_no
          channel: {{value: STORE}}
          placedAt: {{column: sold_at, transform: [{{datetime: {{format: DD/MM/YYYY HH:mm, tz: Europe/London}}}}]}}
          total: {{column: amount, transform: [{{money: GBP}}]}}
        keys: {{orderNumber: receipt_no}}
        refs: {{customer: {{column: member_no, transform: [strip]}}}}
"""

CUSTOMERS = "SELECT id, name, emails, date_of_birth FROM customers ORDER BY id"
PURCHASES = ("SELECT id, order_number, channel, status, placed_at, total_amount, total_currency, customer_id "
             "FROM purchases ORDER BY id")


@pytest.fixture(name="legacy", scope="module")
def legacy_fixture() -> Iterator[str]:
    with fresh_postgres("onepane_trino") as url:
        async def load() -> None:
            engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
            async with engine.begin() as conn:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    await conn.execute(sa.text(statement))
            await engine.dispose()
        asyncio.run(load())
        yield url


def federation(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})


def onepane_rows(config: Path, sql: str) -> list[dict[str, Any]]:
    done = federation("sql", "--config", str(config), "--format", "jsonl", sql, cwd=config.parent)
    assert done.returncode in (0, 3), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


async def source_rows(url: str, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.connect() as conn:
        result = await conn.execute(sa.text(f"SELECT * FROM {table}"))
        names, rows = list(result.keys()), [tuple(r) for r in result]
    await engine.dispose()
    return names, rows


def run_views(url: str, views_sql: str) -> duckdb.DuckDBPyConnection:
    """DuckDB standing in for Trino: one attached database per catalog, holding the same rows."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    for catalog, schema, table, types in (
            ("shop", "shop", "customers", "id INTEGER, name VARCHAR, email VARCHAR, born VARCHAR"),
            ("shop", "shop", "orders", "id INTEGER, order_no VARCHAR, customer_id INTEGER, total_pence INTEGER, "
                                       "status VARCHAR, placed_at TIMESTAMPTZ"),
            ("pos", "pos", "members", "member_no VARCHAR, full_name VARCHAR, email VARCHAR"),
            ("pos", "pos", "txns", "txn_id INTEGER, receipt_no VARCHAR, member_no VARCHAR, amount DECIMAL(10,2), "
                                   "sold_at VARCHAR")):
        if catalog not in {r[0] for r in db.execute("SELECT database_name FROM duckdb_databases()").fetchall()}:
            db.execute(f"ATTACH ':memory:' AS {catalog}")
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema}")
        db.execute(f"CREATE TABLE {catalog}.{schema}.{table} ({types})")
        names, rows = asyncio.run(source_rows(url, f"{schema}.{table}"))
        if rows:
            marks = ", ".join("?" for _ in names)
            db.executemany(f"INSERT INTO {catalog}.{schema}.{table} VALUES ({marks})", rows)
    db.execute("ATTACH ':memory:' AS onepane")
    # Trino's with_timezone (a local time read in a zone), which sqlglot leaves as is.
    db.execute("CREATE MACRO with_timezone(ts, zone) AS timezone(zone, ts)")
    for statement in sqlglot.parse(views_sql, read="trino"):
        if statement is not None:
            db.execute(statement.sql(dialect="duckdb"))
    return db


def view_rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql.replace("FROM customers", "FROM onepane.unified.customers")
                        .replace("FROM purchases", "FROM onepane.unified.purchases"))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if isinstance(value, list):
            value = sorted(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat().replace("+00:00", "Z") if value is not None else None
        elif isinstance(value, Decimal | float | int) and not isinstance(value, bool):
            value = Decimal(str(value)).normalize()
        elif isinstance(value, str) and name in ("placed_at",):
            value = value.replace("+00:00", "Z")
        elif isinstance(value, str) and name in ("total_amount",):
            value = Decimal(value).normalize()
        out[name] = value
    return out


@pytest.fixture(name="emitted", scope="module")
def emitted_fixture(legacy: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("trino")
    config = folder / "onepane.yaml"
    config.write_text(CONFIG.format(url=legacy.replace("postgres@", "postgres:s3cret@")), encoding="utf-8")
    out = folder / "trino"
    done = federation("sql", "--emit-trino", str(out), "--config", str(config), cwd=folder)
    assert done.returncode == 0, done.stderr
    # The config points at the same database without the password for the Onepane side.
    config.write_text(CONFIG.format(url=legacy), encoding="utf-8")
    return config, out, done.stderr


def test_catalogs_name_the_database_and_never_the_password(emitted: tuple[Path, Path, str]) -> None:
    _, out, said = emitted
    shop = (out / "catalog" / "shop.properties").read_text()
    assert "connector.name=postgresql" in shop
    assert "connection-url=jdbc:postgresql://127.0.0.1:5432/onepane_trino_" in shop
    assert "connection-password=${ENV:ONEPANE_SHOP_PASSWORD}" in shop
    assert "s3cret" not in shop + (out / "views.sql").read_text() + said
    assert "wrote" in said and "Stays in Onepane" in said


def test_views_answer_what_federation_sql_answers(legacy: str, emitted: tuple[Path, Path, str]) -> None:
    config, out, _ = emitted
    db = run_views(legacy, (out / "views.sql").read_text())
    for sql in (CUSTOMERS, PURCHASES):
        expected = [comparable(r) for r in onepane_rows(config, sql)]
        got = [comparable(r) for r in view_rows(db, sql)]
        assert got == expected, sql
    customers = {r["id"]: r for r in view_rows(db, CUSTOMERS)}
    # One customer per email across both systems, named by the first source's record, as Onepane names it.
    assert sorted(customers["shop:1"]["emails"]) == ["ann.lee@example.com"]
    assert "pos:00000001" not in customers and "pos:00000010" not in customers
    assert customers["pos:00000002"]["emails"] == ["eve(at)example"]  # unreadable: kept as written
    purchases = {r["id"]: r for r in view_rows(db, PURCHASES)}
    assert purchases["pos:7"]["customer_id"] == "shop:1"


def test_what_trino_cannot_do_is_listed(emitted: tuple[Path, Path, str]) -> None:
    _, out, said = emitted
    views = (out / "views.sql").read_text()
    assert "manual links and never-link decisions" in said
    assert "CREATE OR REPLACE VIEW onepane.unified.customers" in views
    assert "-- Stays in Onepane" in views


def test_a_config_without_a_reachable_source_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "onepane.yaml"
    config.write_text("""
sources:
  crm:
    type: rest
    base_url: http://127.0.0.1:9/
    entities:
      Customer:
        path: /customers
        records: data
        id: id
        fields: {name: name}
""", encoding="utf-8")
    done = federation("sql", "--emit-trino", str(tmp_path / "out"), "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "no source of this config is reachable by Trino" in done.stderr
    assert not (tmp_path / "out").exists()


def test_emit_needs_a_config(tmp_path: Path) -> None:
    done = federation("sql", "--emit-trino", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2 and "--emit-trino needs --config" in done.stderr
