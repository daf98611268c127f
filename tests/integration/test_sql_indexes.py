"""`federation indexes`: the advice runs on each engine and the lookups then search the index.

Lookups compare normalizing expressions (`lower(trim(email))`, phone digits), so a plain index
on the column never serves them. The connector advises expression indexes (SQLite, PostgreSQL)
or generated columns named in `lookup_columns` (MariaDB); after its DBA ran them, every lookup is
planned as an index search and finds exactly what it found before.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sql import SqlConnector
from federation.cli import main
from tests.integration.test_sql_connector import SERVICES, LegacyDb, create_legacy, drop_legacy, ids, make

LOOKUPS = [("id", ["C0001", "C0004"]), ("key:email", ["ann.lee@example.com"]),
           ("key:phone", ["+442079460958"]), ("key:loyaltyNumber", ["AB123", "EF789"])]
NOTE = re.compile(r"^-- then in the config: sources\.(\w+)\.entities\.(\w+)\.lookup_columns: (\{.*\})$")


@pytest.fixture(scope="module", params=list(SERVICES))
def own_legacy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               require_service: Callable[[str, int, str], None]) -> Iterator[LegacyDb]:
    """A database of this module's own: the advice changes its schema."""
    service = SERVICES[request.param]
    if service is not None:
        require_service(*service, request.param)
    db = create_legacy(request.param, tmp_path_factory.mktemp(f"ix-{request.param}"))
    yield db
    drop_legacy(db)


def _url(db: LegacyDb) -> str:
    return f"sqlite+aiosqlite:///{db.base_dir / 'legacy.db'}" if db.backend == "sqlite" else db.url


async def _run_advice(db: LegacyDb, advice: list[str]) -> dict[str, dict[str, str]]:
    """Run the statements as the DBA would; the lookup_columns the notes ask for, per entity."""
    engine = create_async_engine(_url(db))
    async with engine.begin() as conn:
        for line in advice:
            if not line.startswith("--"):
                await conn.execute(sa.text(line))
    await engine.dispose()
    columns: dict[str, dict[str, str]] = {}
    for line in advice:
        found = NOTE.match(line)
        if found:
            columns.setdefault(found.group(2), {}).update(yaml.safe_load(found.group(3)))
    return columns


def _with_columns(db: LegacyDb, columns: dict[str, dict[str, str]]) -> SqlConnector:
    connector = make(db)
    options = connector.options.model_dump(by_alias=True)
    for entity, named in columns.items():
        options["entities"][entity]["lookup_columns"] = named
    return SqlConnector("legacy", SqlConnector.validate_options(options), connector.context)


async def _plan(db: LegacyDb, connector: SqlConnector, bys: tuple[str, ...], values: list[list[str]]) -> str:
    """The database's plan for the statement the connector sent for these lookups."""
    statement = next(s for (entity, sent, _), s in connector._statements.items() if (entity, sent) == ("Customer", bys))
    engine = connector._require_engine()
    async with engine.connect() as conn:
        state = statement.compile(dialect=engine.dialect).construct_expanded_state(
            {f"v{i}": v for i, v in enumerate(values)})
        compiled, params = state.statement, tuple(state.positional_parameters)
        if db.backend == "sqlite":
            rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)).all()
        elif db.backend == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = off")  # four rows: make it choose
            rows = (await conn.exec_driver_sql(f"EXPLAIN {compiled}", params)).all()
            await conn.exec_driver_sql("RESET enable_seqscan")
        else:
            result = await conn.exec_driver_sql(f"EXPLAIN {compiled}", params)
            rows = [(dict(zip(result.keys(), row, strict=True)).get("possible_keys"),) for row in result.all()]
    return " ".join(str(cell) for row in rows for cell in row)


async def test_advice_turns_every_lookup_into_an_index_search(own_legacy: LegacyDb) -> None:
    before = make(own_legacy)
    await before.open()
    expected = {by: sorted(ids(await before.lookup("Customer", by, values))) for by, values in LOOKUPS}
    advice = await before.index_advice(None)  # every lookup: these tables are tiny
    await before.close()
    assert all(found for found in expected.values())
    assert "-- Purchase: read through a custom select; index the tables it reads" in advice

    columns = await _run_advice(own_legacy, advice)
    assert bool(columns) == (own_legacy.backend == "mariadb")  # only MariaDB needs generated columns
    after = _with_columns(own_legacy, columns)
    assert after.problems() == []
    await after.open()
    try:
        for by, values in LOOKUPS:
            assert sorted(ids(await after.lookup("Customer", by, values))) == expected[by], by
            plan = await _plan(own_legacy, after, (by,), [values])
            assert "onepane_cust_mast" in plan.lower() or by == "id", (by, plan)  # a CHAR id: its own key
            assert "SCAN CUST_MAST" not in plan and "Seq Scan" not in plan, (by, plan)
        # Together, as the engine sends the lookups of one tick: one statement, still indexed.
        together = await after.lookup_many("Customer", dict(LOOKUPS))
        assert sorted(ids(together)) == sorted({i for found in expected.values() for i in found})
        bys = tuple(sorted(by for by, _ in LOOKUPS))
        plan = await _plan(own_legacy, after, bys, [dict(LOOKUPS)[by] for by in bys])
        assert "SCAN CUST_MAST" not in plan and "Seq Scan" not in plan, plan
    finally:
        await after.close()


def test_lookup_columns_name_only_lookups_of_the_entity(tmp_path: Path) -> None:
    entity: dict[str, Any] = {"table": "t", "id": "ID", "keys": {"email": "MAIL"},
                              "lookup_columns": {"key:mail": "MAIL_K"}}
    with pytest.raises(ValidationError) as caught:
        SqlConnector.validate_options({"url": "sqlite:///x.db", "entities": {"Customer": entity}})
    assert "'key:mail' is not a lookup of this entity (valid: id, key:email)" in str(caught.value)


def test_indexes_command_prints_advice_and_names_a_source_it_cannot_reach(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sqlite = tmp_path / "shop.db"
    sa.create_engine(f"sqlite:///{sqlite}").connect().execute(
        sa.text("CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT)")).close()
    config: dict[str, Any] = {"security": {"anonymous_role": "a", "roles": {"a": {"allow": ["*"]}}}, "sources": {
        "shop": {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "entities": {"Customer": {
            "table": "customers", "id": "id", "keys": {"email": "email"}}}},
        "gone": {"type": "sql", "url": "postgresql+asyncpg://nobody@127.0.0.1:9/none", "timeout": 1,
                 "statement_timeout": 1, "entities": {"Customer": {"table": "c", "id": "id"}}},
    }}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    assert main(["indexes", "--all", str(path)]) == 1
    out, err = capsys.readouterr()
    assert ("CREATE INDEX IF NOT EXISTS onepane_customers_key_email ON customers ((CASE WHEN (email GLOB "
            "'*[^ -~]*') THEN '*' ELSE lower(replace(email, ' ', '')) END));") in out
    assert "cannot advise source 'gone'" in " ".join(err.split())
    engine = sa.create_engine(f"sqlite:///{sqlite}")
    with engine.connect() as conn:  # it advised; it ran nothing
        assert conn.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                    "AND name LIKE 'onepane%'")).scalar_one() == 0
    engine.dispose()


def test_lookups_of_rows_holding_arrays(tmp_path: Path, require_service: Callable[[str, int, str], None]) -> None:
    """A PostgreSQL array column mapped to a list field: rows found by several lookups, in one
    statement or one per lookup (max_batch 1), come back once each."""
    require_service("127.0.0.1", 5432, "postgresql")
    db = create_legacy("postgresql", tmp_path)
    try:
        asyncio.run(_arrays(db))
    finally:
        drop_legacy(db)


async def _arrays(db: LegacyDb) -> None:
    engine = create_async_engine(db.url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"CREATE TABLE {db.schema}.contacts (id TEXT PRIMARY KEY, email TEXT, "
                                   f"phones TEXT[], loyalty TEXT)"))
        await conn.execute(sa.text(f"INSERT INTO {db.schema}.contacts VALUES "
                                   "('K1', 'ann@example.com', ARRAY['020 7946 0958', '07700 900123'], 'AB1'), "
                                   "('K2', 'bob@example.com', ARRAY[]::TEXT[], 'AB2')"))
    await engine.dispose()
    for max_batch in (500, 1):
        options = SqlConnector.validate_options({"url": db.url, "max_batch": max_batch, "entities": {"Customer": {
            "table": f"{db.schema}.contacts", "id": "id", "fields": {"emails": "email", "phones": "phones"},
            "keys": {"email": "email", "loyaltyNumber": "loyalty"}}}})
        connector = SqlConnector("crm", options, make(db).context)
        await connector.open()
        try:
            found = await connector.lookup_many("Customer", {"key:email": ["ann@example.com"],
                                                             "key:loyaltyNumber": ["AB1", "AB2"]})
        finally:
            await connector.close()
        assert sorted(ids(found)) == ["K1", "K2"], max_batch
        assert next(r for r in found if r.local_id == "K1").fields["phones"] == ["+442079460958", "+447700900123"]


def test_a_lookup_on_the_bare_column_is_advised_a_plain_index() -> None:
    from sqlalchemy.dialects import mysql, postgresql

    from connectors.sql.indexes import Lookup, advice
    from connectors.sql.plans import IdPlan

    lookup = Lookup("ref:customer", IdPlan(("member_no",), None, True, ""), plain=True)
    assert advice("pos", "Purchase", "txns", [lookup], {}, postgresql.dialect()) == [
        "CREATE INDEX IF NOT EXISTS onepane_txns_ref_customer ON txns (member_no);"]
    maria = mysql.dialect()
    maria.is_mariadb = True
    assert advice("pos", "Purchase", "txns", [lookup], {}, maria) == [  # no generated column needed
        "CREATE INDEX onepane_txns_ref_customer ON txns (member_no);"]


def test_check_and_indexes_name_the_lookup_that_scans_a_large_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """10,001 customers: the email lookup reads them all (no index on the email expression); the
    id lookup searches the INTEGER PRIMARY KEY and is not mentioned."""
    sqlite = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{sqlite}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)"))
        conn.execute(sa.text("INSERT INTO customers VALUES (:i, :e)"),
                     [{"i": i, "e": f"c{i}@example.com"} for i in range(1, 10_002)])
    engine.dispose()
    config: dict[str, Any] = {"security": {"anonymous_role": "a", "roles": {"a": {"allow": ["*"]}}}, "sources": {
        "shop": {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "entities": {"Customer": {
            "table": "customers", "id": "id", "keys": {"email": "email"}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    fix = ("CREATE INDEX IF NOT EXISTS onepane_customers_key_email ON customers ((CASE WHEN (email GLOB "
           "'*[^ -~]*') THEN '*' ELSE lower(replace(email, ' ', '')) END));")
    assert main(["check", str(path)]) == 0  # slower, still correct: a warning
    out = "".join("".join(capsys.readouterr()).split())  # rich wraps long paths on the terminal
    assert "".join((f"slow lookup {path}: sources.shop.entities.Customer.key:email: reads every row of table "
                    f"customers (more than 10,000) for each lookup; the index that fixes it: {fix}").split()) in out
    assert "Customer.id" not in out
    assert main(["indexes", str(path)]) == 0
    assert capsys.readouterr().out.split("\n")[1:3] == [fix, ""]
