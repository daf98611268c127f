"""Lookups use the plain indexes a legacy table already has, and find exactly what they found before.

A POS as DBAs build them: `CHAR(8)` member numbers (one typed with a leading blank, one short),
emails typed by clerks, and only plain indexes on the columns. Looking a member up by number, or
their transactions by member, must be an index search on PostgreSQL and MariaDB (the bare
column compared, the trimming moved onto the value), and on SQLite for integer columns; each
answer is the one the normalizing rule gives (a member's local id is their number stripped).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sql import SqlConnector
from federation.contract import ConnectorContext
from federation.model import builtin_model
from tests.integration.test_sql_connector import MARIA_ADMIN, PG_ADMIN, SERVICES, ids

ROWS = 20_000


@dataclass
class Pos:
    backend: str
    url: str
    schema: str
    tmp: Path
    sent: list[tuple[str, Any]]

    def connector(self, **entities: Any) -> SqlConnector:
        s = f"{self.schema}." if self.schema else ""
        options = SqlConnector.validate_options({"url": self.url, "entities": {
            "Customer": {"table": f"{s}members", "id": {"column": "member_no", "transform": ["strip"]},
                         "fields": {"name": "full_name", "emails": {"column": "email", "transform": ["strip"]}},
                         "keys": {"email": "email"}, **entities.get("Customer", {})},
            "Purchase": {"table": f"{s}txns", "id": "txn_id", "fields": {"orderNumber": "receipt_no"},
                         "refs": {"customer": {"column": "member_no", "transform": ["strip"]}}},
        }})
        connector = SqlConnector("pos", options, ConnectorContext(model=builtin_model(), base_dir=self.tmp))
        assert connector.problems() == []
        return connector


def _ddl(backend: str, s: str) -> list[str]:
    """Two tables with only the plain indexes a DBA adds for the foreign key and the email."""
    member = "INTEGER PRIMARY KEY" if backend == "sqlite" else "CHAR(8) NOT NULL"
    ref = "INTEGER" if backend == "sqlite" else "CHAR(8)"
    email = "VARCHAR(80) COLLATE utf8mb4_general_ci" if backend == "mariadb" else "VARCHAR(80)"
    out = [f"CREATE TABLE {s}members (member_no {member}, full_name VARCHAR(60), email {email})",
           f"CREATE TABLE {s}txns (txn_id INTEGER PRIMARY KEY, receipt_no VARCHAR(20), member_no {ref})",
           f"CREATE INDEX txns_member ON {'txns' if backend != 'postgresql' else s + 'txns'} (member_no)",
           f"CREATE INDEX members_email ON {'members' if backend != 'postgresql' else s + 'members'} (email)"]
    if backend != "sqlite":
        out.append(f"CREATE INDEX members_no ON {s}members (member_no)")
    if backend != "mariadb":  # the c360 DBAs' index; MariaDB indexes no expression
        out.append(f"CREATE INDEX members_email_lt ON {'members' if backend != 'postgresql' else s + 'members'} "
                   "(lower(trim(email)))")
    if backend == "sqlite":  # SQLite names the schema on the index, not the table
        out = [line.replace("INDEX txns_member", f"INDEX {s}txns_member")
               .replace("INDEX members_email", f"INDEX {s}members_email") for line in out]
    return out


def _rows(backend: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Members 1..ROWS (zero-padded numbers), plus ' 43' (a leading blank) and '7' (short) on
    CHAR columns; two transactions per member for a few members, one each for the rest."""
    number: Callable[[int], Any] = (lambda i: i) if backend == "sqlite" else (lambda i: f"{i:08d}")
    members = [(number(i), f"Customer {i}", f"  Customer{i}@Example.COM") for i in range(1, ROWS + 1)]
    txns = [(i, f"POS-{i}", number(i)) for i in range(1, ROWS + 1)]
    if backend != "sqlite":
        members += [(" 43", "Leading Blank", "lead@example.com"), ("7", "Short", "short@example.com")]
        txns += [(ROWS + 1, "POS-LEAD-1", " 43"), (ROWS + 2, "POS-LEAD-2", " 43"), (ROWS + 3, "POS-SHORT", "7")]
    return members, txns


async def _build(backend: str, tmp: Path) -> Pos:
    token = f"onepane_p_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url, schema = f"sqlite+aiosqlite:///{tmp / 'pos.db'}", ""
    elif backend == "postgresql":
        url, schema = PG_ADMIN, token
    else:
        url, schema = f"mysql+aiomysql://root@127.0.0.1:3306/{token}", token
    admin = create_async_engine(MARIA_ADMIN if backend == "mariadb" else url)
    async with admin.begin() as conn:
        if backend != "sqlite":
            await conn.execute(sa.text(f"CREATE {'SCHEMA' if backend == 'postgresql' else 'DATABASE'} {token}"))
    await admin.dispose()
    engine = create_async_engine(url)
    s = f"{schema}." if schema else ""
    members, txns = _rows(backend)
    async with engine.begin() as conn:
        for line in _ddl(backend, s):
            await conn.execute(sa.text(line))
        await conn.execute(sa.text(f"INSERT INTO {s}members VALUES (:a, :b, :c)"),
                           [{"a": a, "b": b, "c": c} for a, b, c in members])
        await conn.execute(sa.text(f"INSERT INTO {s}txns VALUES (:a, :b, :c)"),
                           [{"a": a, "b": b, "c": c} for a, b, c in txns])
        await conn.execute(sa.text(f"ANALYZE {s}members" if backend != "mariadb" else f"ANALYZE TABLE {s}members"))
        await conn.execute(sa.text(f"ANALYZE {s}txns" if backend != "mariadb" else f"ANALYZE TABLE {s}txns"))
    await engine.dispose()
    return Pos(backend, url, schema, tmp, [])


async def _drop(pos: Pos) -> None:
    if pos.backend == "sqlite":
        return
    admin = create_async_engine(MARIA_ADMIN if pos.backend == "mariadb" else pos.url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f"DROP {'SCHEMA' if pos.backend == 'postgresql' else 'DATABASE'} "
                                   f"{pos.schema}{' CASCADE' if pos.backend == 'postgresql' else ''}"))
    await admin.dispose()


@pytest.fixture(scope="module", params=list(SERVICES))
def pos_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           require_service: Callable[[str, int, str], None]) -> Any:
    service = SERVICES[request.param]
    if service is not None:
        require_service(*service, request.param)
    pos = asyncio.run(_build(request.param, tmp_path_factory.mktemp(f"pos-{request.param}")))
    yield pos
    asyncio.run(_drop(pos))


@pytest.fixture
async def pos(pos_db: Pos) -> AsyncIterator[tuple[Pos, SqlConnector]]:
    connector = pos_db.connector()
    await connector.open()
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.startswith("EXPLAIN"):
            sent.append((statement, parameters))

    event.listen(connector._require_engine().sync_engine, "before_cursor_execute", record)
    pos_db.sent = sent
    yield pos_db, connector
    await connector.close()


async def _explain_last(pos: Pos, connector: SqlConnector) -> str:
    """The database's plan for the last statement the connector sent, with its parameters."""
    return await _explain(pos, connector, pos.sent[-1])


async def _explain(pos: Pos, connector: SqlConnector, sent: tuple[str, Any]) -> str:
    statement, params = sent
    async with connector._require_engine().connect() as conn:
        if pos.backend == "sqlite":
            rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)).all()
            return " ".join(str(r[-1]) for r in rows)
        result = await conn.exec_driver_sql(f"EXPLAIN {statement}", params)
        if pos.backend == "postgresql":
            return " ".join(str(r[0]) for r in result.all())
        keys = list(result.keys())
        return " ".join(f"key={dict(zip(keys, r, strict=True))['key']}" for r in result.all())


def _uses_index(backend: str, plan: str) -> bool:
    if backend == "postgresql":
        return ("Index Scan" in plan or "Bitmap Index Scan" in plan) and "Seq Scan" not in plan
    if backend == "mariadb":
        return "key=None" not in plan
    return "SEARCH" in plan and "SCAN" not in plan.replace("SEARCH", "")


def number(pos: Pos, i: int) -> str:
    return str(i) if pos.backend == "sqlite" else f"{i:08d}"


async def test_member_by_number_searches_the_plain_index(pos: tuple[Pos, SqlConnector]) -> None:
    db, connector = pos
    found = await connector.lookup("Customer", "id", [number(db, 7), number(db, 19_999)])
    assert sorted(ids(found)) == sorted([number(db, 7), number(db, 19_999)])
    plan = await _explain_last(db, connector)
    assert _uses_index(db.backend, plan), plan
    # A value the column's own comparison cannot stand in for goes on its own, the others still
    # through the index.
    found = await connector.lookup("Customer", "id", [number(db, 8), "nobody", "x" * 9])
    assert ids(found) == [number(db, 8)]
    plans = [await _explain(db, connector, sent) for sent in db.sent[-2:]]
    assert any(_uses_index(db.backend, plan) for plan in plans), plans


async def test_purchases_by_member_search_the_plain_index(pos: tuple[Pos, SqlConnector]) -> None:
    db, connector = pos
    found = await connector.lookup("Purchase", "ref:customer", [number(db, 12_345)])
    assert ids(found) == ["12345"]
    plan = await _explain_last(db, connector)
    assert _uses_index(db.backend, plan), plan


async def test_blanks_the_rule_strips_still_match(pos: tuple[Pos, SqlConnector]) -> None:
    """' 43' and '7' in a CHAR(8) column are members '43' and '7', as the strip rule says."""
    db, connector = pos
    if db.backend == "sqlite":  # integer member numbers hold no blanks: every spelling is the number
        assert sorted(ids(await connector.lookup("Customer", "id", ["43", "7", "00000043"]))) == ["43", "7"]
        return
    found = await connector.lookup("Customer", "id", ["43", "7", " 7 ", "00000043"])
    assert sorted(ids(found)) == ["00000043", "43", "7"]
    assert _uses_index(db.backend, await _explain_last(db, connector))
    purchases = await connector.lookup("Purchase", "ref:customer", ["43"])
    assert sorted(r.fields["orderNumber"] for r in purchases) == ["POS-LEAD-1", "POS-LEAD-2"]
    assert _uses_index(db.backend, await _explain_last(db, connector))


async def test_a_number_the_rule_does_not_write_that_way_finds_nothing(pos: tuple[Pos, SqlConnector]) -> None:
    """SQLite: `007` is not member 7 (whose local id is `7`); the expression answers it."""
    db, connector = pos
    assert ids(await connector.lookup("Customer", "id", ["007" if db.backend == "sqlite" else "0000007"])) == []
    assert ids(await connector.lookup("Customer", "id", ["7.0"])) == []


async def test_emails_match_as_the_rule_reads_them_whatever_the_collation(
        pos: tuple[Pos, SqlConnector]) -> None:
    """'  Customer9@Example.COM' (blanks a clerk typed) is customer9@example.com on every backend.

    A MariaDB `_ci` PAD SPACE collation could compare the bare column, but the email rule drops
    every space and tab inside the text, which no equality stands in for: the lookup compares the
    normalizing expression (served by the generated column `federation indexes` advises)."""
    db, connector = pos
    found = await connector.lookup("Customer", "key:email", ["customer9@example.com", "lead@example.com"])
    expected = [number(db, 9)] + (["43"] if db.backend != "sqlite" else [])
    assert sorted(ids(found)) == sorted(expected)


async def test_tidy_emails_use_the_index_the_table_already_has(pos_db: Pos) -> None:
    """`email: {column: email, tidy: true}`: the clerks' emails need only trim and case, so the
    lookup compares `lower(trim(email))` (PostgreSQL, SQLite: the DBAs' expression index) or the
    bare `_ci` PAD SPACE column (MariaDB: its plain index), finds what the full rule finds, and
    `check` no longer names it; without the declaration `check` says it would help."""
    plain = pos_db.connector()
    await plain.open()
    try:
        hints = await plain.warnings()
        before = sorted(ids(await plain.lookup("Customer", "key:email", ["customer9@example.com", "lead@example.com"])))
    finally:
        await plain.close()
    (hint,) = hints
    assert hint.startswith("entities.Customer.keys.email: each lookup by email reads every row of a table of more "
                           "than 10,000, and all 300 sampled values are written as the key's normal form"), hint
    compared = "the bare column email" if pos_db.backend == "mariadb" else "lower(trim(email))"
    assert hint.endswith(f"declare it, email: {{column: email, tidy: true}}, and the lookup compares {compared}, "
                         "which an index the table already has serves"), hint
    tidy = pos_db.connector(Customer={"keys": {"email": {"column": "email", "tidy": True}}})
    await tidy.open()
    sent: list[tuple[str, Any]] = []
    event.listen(tidy._require_engine().sync_engine, "before_cursor_execute",
                 lambda _c, _k, statement, parameters, *_: sent.append((statement, parameters)))
    try:
        found = await tidy.lookup("Customer", "key:email", ["customer9@example.com", "lead@example.com"])
        plan = await _explain(pos_db, tidy, sent[-1])
        slow = await tidy.slow_lookups()
        warned = await tidy.warnings()
    finally:
        await tidy.close()
    assert sorted(ids(found)) == before == sorted([number(pos_db, 9)] + (["43"] if pos_db.backend != "sqlite" else []))
    assert _uses_index(pos_db.backend, plan), plan
    assert slow == [] and warned == []


async def test_check_names_only_lookups_that_scan_a_large_table_and_the_index_that_fixes_it(
        pos_db: Pos) -> None:
    """The emails compare the email rule's expression (spaces removed, lower case), which the
    plain `email` index cannot serve on any backend: that lookup, and only it, reads all 20,000
    members. MariaDB needs a generated column (and a line in the config) for it; on PostgreSQL
    and SQLite, after the DBA runs the one statement advised, nothing is reported."""
    connector = pos_db.connector()
    await connector.open()
    try:
        slow = await connector.slow_lookups()
        advice = await connector.index_advice()
    finally:
        await connector.close()
    table = f"{pos_db.schema}.members" if pos_db.schema else "members"
    (line,) = slow
    assert line.startswith(f"entities.Customer.key:email: reads every row of table {table} (more than 10,000) "
                           "for each lookup; the index that fixes it: ")
    if pos_db.backend == "mariadb":
        assert any("GENERATED ALWAYS AS" in a or "AS (" in a for a in advice), advice
        return
    matches = ("(email ~ '[^ -~]')" if pos_db.backend == "postgresql" else "(email GLOB '*[^ -~]*')")
    statement = (f"CREATE INDEX IF NOT EXISTS onepane_members_key_email ON {table} ((CASE WHEN {matches} THEN '*' "
                 "ELSE lower(replace(email, ' ', '')) END));")
    assert advice == [statement]
    assert line.endswith(statement)
    engine = create_async_engine(pos_db.url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(statement))
        await conn.execute(sa.text(f"ANALYZE {table}" if pos_db.backend == "postgresql" else "ANALYZE"))
    await engine.dispose()
    connector = pos_db.connector()
    await connector.open()
    try:
        assert await connector.slow_lookups() == []
        assert await connector.index_advice() == []
        assert len(await connector.index_advice(None)) == 4  # --all: one per lookup (members id, email; txns id, ref)
    finally:
        await connector.close()


async def test_a_burst_past_the_pool_reuses_its_connections(pos_db: Pos) -> None:
    """Forty lookups at once, three times, on a pool of two: every one answered, and the
    connections opened for the first burst (at most 2 + 10) serve the later ones instead of one
    opened and closed per statement."""
    options = pos_db.connector().options.model_dump(by_alias=True)
    connector = SqlConnector("pos", SqlConnector.validate_options({**options, "pool_size": 2}),
                             pos_db.connector().context)
    await connector.open()
    opened: list[object] = []
    event.listen(connector._require_engine().sync_engine, "connect", lambda *_: opened.append(1))
    per_burst = []
    try:
        for _ in range(3):
            found = await asyncio.gather(*(connector.lookup("Customer", "id", [number(pos_db, i)])
                                           for i in range(1, 41)))
            assert [ids(f) for f in found] == [[number(pos_db, i)] for i in range(1, 41)]
            per_burst.append(len(opened))
    finally:
        await connector.close()
    assert per_burst[0] <= 12 and per_burst[2] == per_burst[0], per_burst
