"""`SqlConnector.verify()` against live SQLite, PostgreSQL and MariaDB, and `federation check` end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from connectors.sdk import ConnectorContext
from connectors.sql import SqlConnector
from federation.model import builtin_model
from tests.integration.test_sql_connector import LegacyDb, legacy, make, options_for

__all__ = ["legacy"]  # the session fixture, shared with the connector tests


def _connector(db: LegacyDb, options: dict[str, Any]) -> SqlConnector:
    return SqlConnector("pos", SqlConnector.validate_options(options),
                        ConnectorContext(model=builtin_model(), base_dir=db.base_dir))


async def test_a_correct_mapping_has_no_problems(legacy: LegacyDb) -> None:
    connector = make(legacy)
    try:
        assert await connector.verify() == []
    finally:
        await connector.close()


async def test_missing_columns_and_tables_are_named_with_close_matches(legacy: LegacyDb) -> None:
    options = options_for(legacy)
    customer = options["entities"]["Customer"]
    customer["fields"]["emails"] = {"column": "EMAIL_ADR", "transform": ["strip"]}
    customer["keys"]["phone"] = "TEL_NUM"
    purchase = options["entities"]["Purchase"]
    purchase["refs"]["customer"] = "CUST_NUMBER"
    purchase["id"] = {"columns": ["STORE_NO", "TXN_NUM"], "transform": [{"join": ":"}]}
    options["entities"]["Product"]["table"] = f"{legacy.schema}.PRODUCTS"
    connector = _connector(legacy, options)
    try:
        problems = await connector.verify()
    finally:
        await connector.close()
    table = f"{legacy.schema}.CUST_MAST"
    assert problems == [
        f"entities.Customer.fields.emails: no column 'EMAIL_ADR' in table '{table}' (close matches: EMAIL_ADDR)",
        f"entities.Customer.keys.phone: no column 'TEL_NUM' in table '{table}' (close matches: TEL_NO)",
        "entities.Purchase.id: no column 'TXN_NUM' in the custom select (close matches: TXN_NO, TXN_DT)",
        "entities.Purchase.refs.customer: no column 'CUST_NUMBER' in the custom select (close matches: CUST_NO)",
        f"entities.Product.table: no table or view '{legacy.schema}.PRODUCTS' (close matches: PRODUCT)",
    ]


async def test_missing_schema_and_column_case(legacy: LegacyDb) -> None:
    options = options_for(legacy)
    options["entities"]["Product"]["table"] = "no_such_schema.PRODUCT"
    options["entities"]["Customer"]["keys"]["loyaltyNumber"] = "loyalty_cd"
    connector = _connector(legacy, options)
    try:
        problems = await connector.verify()
    finally:
        await connector.close()
    assert problems[-1].startswith("entities.Product.table: no schema 'no_such_schema' for table")
    case = [p for p in problems if ".loyaltyNumber" in p]
    if legacy.backend == "postgresql":  # quoted identifiers: case matters
        assert case == [f"entities.Customer.keys.loyaltyNumber: no column 'loyalty_cd' in table "
                        f"'{legacy.schema}.CUST_MAST' (close matches: LOYALTY_CD)"]
    else:
        assert case == []


async def test_a_failing_custom_select_is_reported_without_sql(legacy: LegacyDb) -> None:
    options = options_for(legacy)
    options["entities"]["Purchase"]["select"] = f"SELECT * FROM {legacy.schema}.NO_SALES"
    connector = _connector(legacy, options)
    try:
        problems = await connector.verify()
    finally:
        await connector.close()
    assert problems == ["entities.Purchase.select: cannot check (source 'pos': query failed (ProgrammingError))"] \
        or problems == ["entities.Purchase.select: cannot check (source 'pos': query failed (OperationalError))"]


async def test_a_field_error_names_source_table_key_and_column(legacy: LegacyDb) -> None:
    connector = make(legacy)
    try:
        (bob,) = await connector.lookup("Customer", "id", ["C0002"])
        (sale,) = await connector.lookup("Purchase", "id", ["4:1006"])
    finally:
        await connector.close()
    assert bob.errors["dateOfBirth"].startswith(
        f"Customer legacy:C0002 field dateOfBirth (from table {legacy.schema}.CUST_MAST, column DOB_TXT): ")
    assert "31/02/1980" in bob.errors["dateOfBirth"]
    assert bob.fields["name"] == "Bob Stone"
    assert sale.errors["placedAt"].startswith(
        "Purchase legacy:4:1006 field placedAt (from custom select, column TXN_DT): ")


def test_federation_check_names_source_entity_column_and_close_match(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "pos.db") as db:
        db.execute("CREATE TABLE CUST_MAST (CUST_NO CHAR(8) PRIMARY KEY, FIRST_NM TEXT, EMAIL_ADDR TEXT)")
    config = {"sources": {"pos": {"type": "sql", "url": "sqlite+aiosqlite:///pos.db", "entities": {
        "Customer": {"table": "CUST_MAST", "id": "CUST_NO", "fields": {"name": "FIRST_NM"},
                     "keys": {"email": "EMAIL_ADR"}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "federation", "check", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    output = " ".join((done.stdout + done.stderr).split())
    assert ("sources.pos.entities.Customer.keys.email: no column 'EMAIL_ADR' in table 'CUST_MAST' "
            "(close matches: EMAIL_ADDR)") in output


def test_federation_check_passes_a_correct_mapping(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "pos.db") as db:
        db.execute("CREATE TABLE CUST_MAST (CUST_NO CHAR(8) PRIMARY KEY, FIRST_NM TEXT, EMAIL_ADDR TEXT)")
    config = {"sources": {"pos": {"type": "sql", "url": "sqlite+aiosqlite:///pos.db", "entities": {
        "Customer": {"table": "CUST_MAST", "id": "CUST_NO", "keys": {"email": "EMAIL_ADDR"}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "federation", "check", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mapping problem" not in done.stdout + done.stderr


def test_text_pushdown_accepts_yaml_off_and_rejects_others() -> None:
    import pydantic

    raw = yaml.safe_load("url: sqlite:///x.db\ntext_pushdown: off\n")
    assert SqlConnector.validate_options(raw).text_pushdown == "off"
    raw = yaml.safe_load("url: sqlite:///x.db\ntext_pushdown: casefold\n")
    assert SqlConnector.validate_options(raw).text_pushdown == "casefold"
    try:
        SqlConnector.validate_options({"url": "sqlite:///x.db", "text_pushdown": "unaccent"})
    except pydantic.ValidationError as exc:
        assert "'off' or 'casefold'" in str(exc)
    else:
        raise AssertionError("text_pushdown: unaccent was accepted")


async def test_a_lookup_column_that_does_not_exist_is_named(legacy: LegacyDb) -> None:
    options = options_for(legacy)
    options["entities"]["Customer"]["lookup_columns"] = {"key:email": "ONEPANE_KEY_EMAIL"}
    connector = _connector(legacy, options)
    try:
        problems = await connector.verify()
    finally:
        await connector.close()
    assert problems == [f"entities.Customer.lookup_columns.key:email: no column 'ONEPANE_KEY_EMAIL' in table "
                        f"'{legacy.schema}.CUST_MAST' (close matches: none)"]


def test_a_lookup_column_for_a_lookup_sql_cannot_compare_is_a_problem(tmp_path: Path) -> None:
    options = {"url": "sqlite:///x.db", "entities": {"Customer": {
        "table": "c", "id": "ID", "keys": {"email": {"column": "MAIL", "transform": [{"date": "YYYYMMDD"}]}},
        "lookup_columns": {"key:email": "MAIL_K"}}}}
    connector = SqlConnector("crm", SqlConnector.validate_options(options),
                             ConnectorContext(model=builtin_model(), base_dir=tmp_path))
    assert connector.problems() == [
        "entities.Customer.lookup_columns.key:email: this lookup's mapping is not compared in SQL (a transform SQL "
        "cannot repeat), so a lookup column cannot serve it"]
