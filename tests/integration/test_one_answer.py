"""One question, one answer (issue 18): what the SQL connector pushes down selects exactly what the
engine's in-memory rule selects, for every key normalizer (phone, email, code), on SQLite,
PostgreSQL and MariaDB. Random stored spellings and random lookup spellings; the in-memory rule
is "the record's normalized keys meet the lookup's keys", applied to every row of the table.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from connectors.sql import SqlConnector
from federation.config import load_config
from federation.contract import Condition, ConnectorContext, SearchRequest
from federation.engine.gateway import Gateway
from federation.engine.residual import matches
from federation.keys import MIN_DIGITS, normalize_code, normalize_email, phone_match_keys
from federation.model import builtin_model
from federation.records import Record
from federation.server import create_app
from tests.conftest import serve_app
from tests.integration.test_phones import ask
from tests.integration.test_sql_connector import MARIA_ADMIN, PG_ADMIN, SERVICES, _admin

GATEWAY_REGION = "GB"
COUNTRIES = ["Germany", "UK", "USA", "Argentina", "France", "Italy", "Norfolk Island", "Kiribati", "Mexico",
             "Brazil", "Japan", "Switzerland", "", "Atlantis", None]
EXAMPLES = 50


@dataclass
class Db:
    """One backend's table of people and a connector over it, driven from one event loop."""

    backend: str
    url: str
    table: sa.Table
    engine: AsyncEngine
    connector: SqlConnector
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def store(self, rows: Sequence[dict[str, Any]]) -> None:
        async def work() -> None:
            async with self.engine.begin() as conn:
                await conn.execute(self.table.delete())
                if rows:
                    await conn.execute(self.table.insert(), [
                        {"id": f"r{i}", "phone": None, "country": None, "email": None, "code": None, **r}
                        for i, r in enumerate(rows)])
        self.run(work())


def _table(schema: str | None) -> tuple[sa.MetaData, sa.Table]:
    meta = sa.MetaData(schema=schema)
    table = sa.Table("people", meta, sa.Column("id", sa.String(10), primary_key=True),
                     sa.Column("phone", sa.String(120)), sa.Column("country", sa.String(40)),
                     sa.Column("email", sa.String(120)), sa.Column("code", sa.String(120)),
                     mysql_charset="utf8mb4")
    return meta, table


def _options(url: str, table: str) -> Any:
    return SqlConnector.validate_options({
        "url": url, "region": "GB", "entities": {"Customer": {
            "table": table, "id": "id", "region": {"column": "country"},
            "fields": {"phones": "phone", "emails": "email", "loyaltyNumbers": "code"},
            "keys": {"phone": "phone", "email": "email", "loyaltyNumber": "code"}}}})


@pytest.fixture(scope="module", params=list(SERVICES))
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       require_service: Callable[[str, int, str], None]) -> Iterator[Db]:
    backend = request.param
    service = SERVICES[backend]
    if service is not None:
        require_service(*service, backend)
    folder = tmp_path_factory.mktemp(f"one-answer-{backend}")
    token = f"onepane_o_{uuid.uuid4().hex[:8]}"
    loop = asyncio.new_event_loop()
    schema: str | None = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'people.db'}"
    elif backend == "postgresql":
        loop.run_until_complete(_admin(PG_ADMIN, f"CREATE SCHEMA {token}"))
        url, schema = PG_ADMIN, token
    else:
        loop.run_until_complete(_admin(MARIA_ADMIN, f"CREATE DATABASE {token} CHARACTER SET utf8mb4"))
        url = f"mysql+aiomysql://root@127.0.0.1:3306/{token}?charset=utf8mb4"
    meta, table = _table(schema)
    engine = create_async_engine(url)

    async def create() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
    loop.run_until_complete(create())
    name = f"{schema}.people" if schema else "people"
    connector = SqlConnector("crm", _options(url, name), ConnectorContext(
        model=builtin_model(), base_dir=folder, region=GATEWAY_REGION))
    loop.run_until_complete(connector.open())
    yield Db(backend, url, table, engine, connector, loop)
    loop.run_until_complete(connector.close())
    loop.run_until_complete(engine.dispose())
    if backend == "postgresql":
        loop.run_until_complete(_admin(PG_ADMIN, f"DROP SCHEMA {token} CASCADE"))
    elif backend == "mariadb":
        loop.run_until_complete(_admin(MARIA_ADMIN, f"DROP DATABASE {token}"))
    loop.close()


# -- spellings ---------------------------------------------------------------------------------

NUMBERS = [n for n in (phonenumbers.example_number_for_type(r, t)
                       for r in ("GB", "DE", "AR", "US", "FR", "IT", "NF", "KI", "MX", "BR", "JP", "CH", "CL")
                       for t in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE))
           if n is not None]
SEPARATORS = [" ", "-", ".", "/", "", "  ", " - "]
GARBAGE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@st.composite
def phone_spelling(draw: st.DrawFn) -> str:
    number = draw(st.sampled_from(NUMBERS))
    cc, nsn = str(number.country_code), phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    form = draw(st.sampled_from(["e164", "intl", "national", "00", "trunk", "nsn", "cc", "garbage", "suffix",
                                 "short", "idd", "00trunk", "unicode"]))
    sep = draw(st.sampled_from(SEPARATORS))
    split = draw(st.integers(1, max(1, len(nsn) - 1)))
    body = nsn[:split] + sep + nsn[split:]
    text = {
        "e164": f"+{cc}{nsn}",
        "intl": f"+{cc}{sep}{body}",
        "national": national.replace(" ", sep),
        "00": f"00{cc}{sep}{body}",
        "trunk": f"+{cc} (0){body}",
        "nsn": body,
        "cc": f"{cc}{sep}{body}",
        "garbage": draw(GARBAGE),
        "suffix": f"{national}{draw(st.sampled_from([' ext 12', ' x7', '#3', ' (home)', '9']))}",
        "short": nsn[: draw(st.integers(0, len(nsn)))],
        "idd": f"011{sep}{cc}{sep}{body}",  # the North American international prefix
        "00trunk": f"00{cc} (0) {body}",
        "unicode": "".join(chr(0x0660 + int(d)) for d in nsn),  # Arabic-Indic digits
    }[form]
    if draw(st.booleans()) and len(text) > 3:  # parentheses around a leading group
        text = f"({text[:3]}){text[3:]}"
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\u00a0"]))


@st.composite
def email_spelling(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(["ann.lee@example.com", "bob+x@mail.example.org", "zoë@exämple.de",
                                 "ÄNN@X.DE", "İpek@example.tr", "ann@example", "@example.com", "o'neil@x.ie"]))
    chars = [c.upper() if draw(st.booleans()) else c for c in base]
    if draw(st.booleans()):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from([" ", "\t", "\u00a0", "  "])))
    text = "".join(chars)
    if draw(st.integers(0, 9)) == 0:
        text = draw(GARBAGE)
    return draw(st.sampled_from(["", " ", "\n"])) + text + draw(st.sampled_from(["", " ", "\t"]))


@st.composite
def code_spelling(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(["AB123", "bf20250042", "CD456", "ÉT9", "straße7", "X1"]))
    out = ""
    for ch in base:
        out += ch.lower() if draw(st.booleans()) else ch.upper()
        if draw(st.integers(0, 4)) == 0:
            out += draw(st.sampled_from([" ", "-", "/", ".", "_", "#", ":", ",", ";", "|", "\t", "\u2013", "'"]))
    if draw(st.integers(0, 9)) == 0:
        out = draw(GARBAGE)
    return out


# -- the property ------------------------------------------------------------------------------

def ids(records: Sequence[Record]) -> list[str]:
    return sorted(r.local_id for r in records)


def check(db: Db, key: str, wanted: Sequence[str]) -> None:
    """Pushed (a lookup, and a search condition) == the in-memory rule over every row."""
    every = db.run(db.connector.search("Customer", SearchRequest()))
    expected = ids([r for r in every if set(r.keys.get(key, ())) & set(wanted)])
    looked_up = ids(db.run(db.connector.lookup("Customer", f"key:{key}", list(wanted)))) if wanted else []
    assert looked_up == expected
    condition = Condition(key, "in", list(wanted))
    searched = db.run(db.connector.search("Customer", SearchRequest((condition,))))
    assert ids([r for r in searched if matches(r, [condition])]) == expected


SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(stored=st.lists(st.tuples(phone_spelling(), st.sampled_from(COUNTRIES)), min_size=1, max_size=8),
       asked=st.lists(phone_spelling(), min_size=1, max_size=3), pick=st.integers(0, 7))
def test_phone_lookups_pushed_equal_in_memory(db: Db, stored: list[tuple[str, str | None]], asked: list[str],
                                              pick: int) -> None:
    asked = [*asked, stored[pick % len(stored)][0]]  # always ask for one stored spelling too
    db.store([{"phone": p, "country": c} for p, c in stored])
    check(db, "phone", list(dict.fromkeys(k for a in asked for k in phone_match_keys(a, GATEWAY_REGION))))


@SETTINGS
@given(stored=st.lists(email_spelling(), min_size=1, max_size=8), asked=st.lists(email_spelling(), max_size=3),
       pick=st.integers(0, 7))
def test_email_lookups_pushed_equal_in_memory(db: Db, stored: list[str], asked: list[str], pick: int) -> None:
    asked = [*asked, stored[pick % len(stored)]]
    db.store([{"email": e} for e in stored])
    check(db, "email", [k for a in asked if (k := normalize_email(a)) is not None])


@SETTINGS
@given(stored=st.lists(code_spelling(), min_size=1, max_size=8), asked=st.lists(code_spelling(), max_size=3),
       pick=st.integers(0, 7))
def test_code_lookups_pushed_equal_in_memory(db: Db, stored: list[str], asked: list[str], pick: int) -> None:
    asked = [*asked, stored[pick % len(stored)]]
    db.store([{"code": c} for c in stored])
    check(db, "loyaltyNumber", [k for a in asked if (k := normalize_code(a)) is not None])


def test_the_trunk_prefix_case_from_the_issue(db: Db) -> None:
    """`+54 (0)11 4311 4333` stored; asked as `+54 11 4311 4333` the SQL comparison once found nothing."""
    db.store([{"phone": "+54 (0)11 4311 4333", "country": "Argentina"}, {"phone": "011 4311-4333"},
              {"phone": "00 54 11 4311 4333", "country": "UK"}, {"phone": "+54 11 4311 4334"}])
    keys = phone_match_keys("+54 11 4311 4333", GATEWAY_REGION)
    assert ids(db.run(db.connector.lookup("Customer", "key:phone", list(keys)))) == ["r0", "r2"]
    check(db, "phone", list(keys))


# Digits identify someone from six on (federation.keys.MIN_DIGITS): Kiribati's 31234 is found by
# its E.164 spelling only.
LONG_NUMBERS = [n for n in NUMBERS if len(phonenumbers.national_significant_number(n)) >= MIN_DIGITS]


@SETTINGS
@given(stored=st.lists(st.tuples(st.sampled_from(LONG_NUMBERS), st.sampled_from(SEPARATORS)), min_size=1, max_size=8),
       pick=st.integers(0, 7))
def test_a_national_spelling_finds_its_number_read_in_its_row_country(
        db: Db, stored: list[tuple[phonenumbers.PhoneNumber, str]], pick: int) -> None:
    """Each row written the national way, with its country (an ISO code) in the row; asked as
    stored, in a gateway of another region: a digits lookup. Pushed == in memory, and it is found."""
    national = phonenumbers.PhoneNumberFormat.NATIONAL
    rows = [{"phone": phonenumbers.format_number(n, national).replace(" ", sep),
             "country": phonenumbers.region_code_for_number(n)} for n, sep in stored]
    db.store(rows)
    asked = rows[pick % len(rows)]["phone"]
    keys = phone_match_keys(asked, GATEWAY_REGION)
    check(db, "phone", list(keys))
    assert f"r{pick % len(rows)}" in ids(db.run(db.connector.lookup("Customer", "key:phone", list(keys))))


def test_equal_national_digits_of_two_countries(db: Db) -> None:
    """A digits lookup finds both countries' numbers; an E.164 lookup only its own."""
    db.store([{"phone": "030-0074321", "country": "Germany"}, {"phone": "03 00 07 43 21", "country": "FR"},
              {"phone": "0300074321", "country": "Atlantis"}, {"phone": "+49 30 0074322"}])
    for asked, expected in (("030 0074321", ["r0", "r1", "r2"]), ("+49 30 0074321", ["r0"]),
                            ("+33 3 00 07 43 21", ["r1"])):
        keys = list(phone_match_keys(asked, "US"))
        assert ids(db.run(db.connector.lookup("Customer", "key:phone", keys))) == expected, asked
        check(db, "phone", keys)


def test_a_limit_never_cuts_a_superset(db: Db) -> None:
    """Two numbers ending in the same five digits: SQL returns both, the core keeps the one asked.
    A LIMIT 1 in SQL would have kept the wrong one and answered nothing."""
    db.store([{"phone": "+33 1 23 46 09 58"}, {"phone": "+44 20 7946 0958"}])
    condition = Condition("phone", "eq", "+442079460958")
    found = db.run(db.connector.search("Customer", SearchRequest((condition,), (), 1)))
    assert ids([r for r in found if matches(r, [condition])]) == ["r1"]


# -- the same through GraphQL: alone, or next to customer(id:) in one document ------------------

def test_one_question_one_answer_in_any_document(db: Db, tmp_path: Path) -> None:
    db.store([{"phone": "+54 (0)11 4311 4333", "country": "Argentina", "email": "p@example.ar"},
              {"phone": "(171) 555-7788", "country": "UK", "email": "t@example.co.uk"}])
    table = f"{db.table.schema}.people" if db.table.schema else "people"
    data = {"security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}}, "sources": {"crm": {
        "type": "sql", "url": db.url, "entities": {"Customer": {
            "table": table, "id": "id", "region": {"column": "country"},
            "fields": {"phones": "phone", "emails": "email"}, "keys": {"phone": "phone", "email": "email"}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        gateway = Gateway.from_config(load_config(path, {}))
        async with serve_app(create_app(gateway)) as url:
            alone = await ask(url + "/graphql", '{ customers(phone: "+54 11 4311 4333") { id phones } }')
            beside = await ask(url + "/graphql", '{ customer(id: "crm:r0") { id phones } '
                                                 'customers(phone: "+54 11 4311 4333") { id phones } }')
        await gateway.close()
        return alone, beside

    alone, beside = asyncio.run(run())
    assert alone.get("errors") is None and beside.get("errors") is None
    assert alone["data"]["customers"] == beside["data"]["customers"] == [
        {"id": "crm:r0", "phones": ["+541143114333"]}]
