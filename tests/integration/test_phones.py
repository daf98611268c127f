"""Phones written as each source writes them (issue 18): a region per source, entity, field or
row; numbers no region reads kept as written with a note and matched by their digits; and
`customers(phone:)` answering any string."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.errors import ConfigError
from federation.server import create_app
from tests.conftest import serve_app

# id, name, phone as written, country as written, email
ROWS = [
    ("1", "Maria Anders", "030-0074321", "Germany", "maria@example.de"),
    ("2", "Ana Trujillo", "(5) 555-4729", "Mexico", "ana@example.mx"),
    ("3", "Thomas Hardy", "(171) 555-7788", "UK", "thomas@example.co.uk"),
    ("4", "Patricio Simpson", "+54 (0)11 4311 4333", "Argentina", "patricio@example.ar"),
    ("5", "Liu Wong", "28303384290", "Atlantis", "liu@example"),
    ("6", "Yang Wang", "0452-076545", "Switzerland", "yang@example.ch"),
    ("7", "Nobody", "ask reception", "USA", "nobody@example.com"),
    ("8", "Howard Snyder", "(503) 555-7555", "USA", " Howard@Example.COM "),
]
QUERY = "query($p: String) { customers(phone: $p) { id name phones emails } }"


def make_db(folder: Path) -> None:
    with sqlite3.connect(folder / "crm.db") as conn:
        conn.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT, phone TEXT, country TEXT, email TEXT)")
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", ROWS)


def config(region: Any = None, field_region: Any = None, source_region: Any = None) -> dict[str, Any]:
    phones: dict[str, Any] = {"column": "phone"}
    if field_region is not None:
        phones["region"] = field_region
    entity: dict[str, Any] = {"table": "customers", "id": "id",
                              "fields": {"name": "name", "phones": phones, "emails": "email"},
                              "keys": {"phone": dict(phones), "email": "email"}}
    if region is not None:
        entity["region"] = region
    source: dict[str, Any] = {"type": "sql", "url": "sqlite+aiosqlite:///crm.db", "entities": {"Customer": entity}}
    if source_region is not None:
        source["region"] = source_region
    return {"gateway": {"region": "GB"}, "security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
            "sources": {"crm": source}}


@asynccontextmanager
async def served(folder: Path, data: dict[str, Any]) -> AsyncIterator[str]:
    path = folder / "onepane.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    gateway = Gateway.from_config(load_config(path, {}))
    async with serve_app(create_app(gateway)) as url:
        yield url + "/graphql"


async def ask(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = orjson.dumps({"query": query, "variables": variables or {}})
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        answer: dict[str, Any] = orjson.loads(await response.read())
    return answer


def everyone(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with served(folder, data) as url:
            return await ask(url, "{ customerList(first: 50) { nodes { id name phones emails } } }")
    return asyncio.run(run())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    make_db(tmp_path)
    return tmp_path


def hard_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors other than notes on values served as written (`kept: true`)."""
    return [e for e in body.get("errors") or [] if not e["extensions"].get("kept")]


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in body["data"]["customerList"]["nodes"]}


def notes(body: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    nodes = body["data"]["customerList"]["nodes"]
    return {(nodes[e["path"][2]]["id"], e["path"][3]): e for e in body.get("errors") or []}


def test_each_row_is_read_in_its_own_country_and_nothing_is_dropped(folder: Path) -> None:
    body = everyone(folder, config(region={"column": "country"}))
    phones = {i: n["phones"] for i, n in by_id(body).items()}
    assert phones == {
        "crm:1": ["+49300074321"],      # Germany: 030 is Berlin
        "crm:2": ["+5255554729"],       # Mexico
        "crm:3": ["+441715557788"],     # "UK": an everyday name ISO does not list
        "crm:4": ["+541143114333"],     # the (0) trunk prefix inside the international form
        "crm:5": ["28303384290"],       # unknown country, unreadable in GB: kept as written
        "crm:6": ["+41452076545"],      # Switzerland
        "crm:7": ["ask reception"],     # no number at all: still what the source holds
        "crm:8": ["+15035557555"],      # USA
    }
    found = notes(body)
    assert set(found) == {("crm:5", "phones"), ("crm:5", "emails"), ("crm:7", "phones")}
    for note in found.values():
        assert note["extensions"] == {"code": "SOURCE_DATA_ERROR", "source": "crm", "kept": True}
    assert "'Atlantis'" in found[("crm:5", "phones")]["message"]
    assert "'28303384290'" in found[("crm:5", "phones")]["message"]
    assert "column phone" in found[("crm:5", "phones")]["message"]
    assert "'liu@example'" in found[("crm:5", "emails")]["message"]
    assert by_id(body)["crm:5"]["emails"] == ["liu@example"]


def test_the_most_specific_region_wins(folder: Path) -> None:
    # Source says Germany: every row is read as German.
    german = {i: n["phones"] for i, n in by_id(everyone(folder, config(source_region="Germany"))).items()}
    assert german["crm:1"] == ["+49300074321"] and german["crm:3"] != ["+441715557788"]
    # The entity's row country beats the source; a fixed region on the field beats both.
    rows = config(region={"column": "country"}, source_region="DE")
    assert by_id(everyone(folder, rows))["crm:3"]["phones"] == ["+441715557788"]
    fixed = config(region={"column": "country"}, source_region="DE", field_region="united states")
    assert by_id(everyone(folder, fixed))["crm:8"]["phones"] == ["+15035557555"]
    assert by_id(everyone(folder, fixed))["crm:1"]["phones"] != ["+49300074321"]


def test_customers_by_phone_answers_any_string(folder: Path) -> None:
    async def run() -> list[dict[str, Any]]:
        async with served(folder, config(region={"column": "country"})) as url:
            return [await ask(url, QUERY, {"p": p}) for p in (
                "28303384290", "283 0338-4290", "+49 30 0074321", "0049 (0)30 0074321", "+54 11 4311 4333",
                "+56 2 635 4444", "000", "call me", "  ")]
    exact, spaced, german, trunk, argentina, chile, zeros, words, empty = asyncio.run(run())
    for body in (exact, spaced, german, trunk, argentina, chile, zeros, words):
        assert hard_errors(body) == []
    assert [c["id"] for c in exact["data"]["customers"]] == ["crm:5"]  # the exact stored string
    assert [c["id"] for c in spaced["data"]["customers"]] == ["crm:5"]  # the same digits
    assert [c["id"] for c in german["data"]["customers"]] == ["crm:1"]
    assert [c["id"] for c in trunk["data"]["customers"]] == ["crm:1"]
    assert [c["id"] for c in argentina["data"]["customers"]] == ["crm:4"]
    assert chile["data"]["customers"] == zeros["data"]["customers"] == words["data"]["customers"] == []
    assert empty["data"]["customers"] is None
    assert empty["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "phone"}


def test_a_readable_lookup_finds_an_unreadable_copy_by_its_digits(folder: Path) -> None:
    """A GB source holding a Swiss number without its country code cannot read it; a lookup of
    the full number still finds it (its national significant number)."""
    with sqlite3.connect(folder / "crm.db") as conn:
        conn.execute("INSERT INTO customers VALUES ('9', 'Hanna Moos', '452 076 5450 0', 'Narnia', NULL)")

    async def run() -> dict[str, Any]:
        async with served(folder, config(source_region="GB")) as url:
            return await ask(url, QUERY, {"p": "+41 45207654500"})
    body = asyncio.run(run())
    assert hard_errors(body) == []
    assert [c["id"] for c in body["data"]["customers"]] == ["crm:9"]
    assert body["data"]["customers"][0]["phones"] == ["452 076 5450 0"]


def test_a_national_spelling_finds_every_country_it_is_a_number_of_and_links_nothing(folder: Path) -> None:
    """A German and a French customer of the same name whose numbers have the same national
    digits. `030-0074321` (as the German screen shows it) names no country: both are honest
    candidates, and they stay two customers (their keys, +49… and +33…, are different). A
    number written with its country code finds only its own."""
    with sqlite3.connect(folder / "crm.db") as conn:
        conn.execute("INSERT INTO customers VALUES ('10', 'Maria Anders', '03 00 07 43 21', 'France', NULL)")

    async def run() -> list[dict[str, Any]]:
        async with served(folder, config(region={"column": "country"})) as url:  # gateway region GB
            return [await ask(url, QUERY, {"p": p}) for p in (
                "030-0074321", "(030) 007 43 21", "0049 30 0074321", "+33 3 00 07 43 21", "49300074321")]
    national, spaced, german, french, digits = asyncio.run(run())
    for body in (national, spaced, german, french, digits):
        assert hard_errors(body) == []
    for body in (national, spaced):
        assert sorted((c["id"], c["phones"][0]) for c in body["data"]["customers"]) == [
            ("crm:1", "+49300074321"), ("crm:10", "+33300074321")]
    assert [c["id"] for c in german["data"]["customers"]] == ["crm:1"]
    assert [c["id"] for c in french["data"]["customers"]] == ["crm:10"]
    assert [c["id"] for c in digits["data"]["customers"]] == ["crm:1"]  # the country code, without its +


def test_a_readable_number_and_an_unreadable_copy_are_found_together_never_linked(folder: Path) -> None:
    """Ann Lee's British number in the CRM, and written without its country code in a French
    shop (no French number has those 10 digits). Both answer a lookup, as two customers: the
    digits 2079460958 are also the national number of +1 207 946 0958 (Maine), so a link on them
    could join two people (docs/identity.md: "Readable and unreadable copies")."""
    with sqlite3.connect(folder / "crm.db") as conn:
        conn.execute("INSERT INTO customers VALUES ('9', 'Ann Lee', '+44 20 7946 0958', 'UK', NULL)")
    with sqlite3.connect(folder / "shop.db") as conn:
        conn.execute("CREATE TABLE clients (id TEXT PRIMARY KEY, name TEXT, tel TEXT)")
        conn.execute("INSERT INTO clients VALUES ('S1', 'Ann Lee', '20 79 46 09 58')")
    data = config(region={"column": "country"})
    data["sources"]["shop"] = {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "region": "France",
                               "entities": {"Customer": {"table": "clients", "id": "id",
                                                         "fields": {"name": "name", "phones": "tel"},
                                                         "keys": {"phone": "tel"}}}}

    async def run() -> list[dict[str, Any]]:
        async with served(folder, data) as url:
            return [await ask(url, QUERY, {"p": p}) for p in ("+44 20 7946 0958", "20 79 46 09 58")]
    for body in asyncio.run(run()):
        assert hard_errors(body) == []
        assert sorted((c["id"], tuple(c["phones"])) for c in body["data"]["customers"]) == [
            ("crm:9", ("+442079460958",)), ("shop:S1", ("20 79 46 09 58",))]


@pytest.mark.parametrize(("where", "bad", "message"), [
    ("field", "Atlantis", "sources.crm.entities.Customer.fields.phones.region: 'Atlantis' is not a country"),
    ("entity", {"colum": "country"}, "sources.crm.entities.Customer.region: a per-row country is {column: "),
    ("source", "", "sources.crm.region: write an ISO 3166 country code"),
])
def test_a_bad_region_is_a_config_error_naming_file_and_path(folder: Path, where: str, bad: Any,
                                                             message: str) -> None:
    data = config(**{{"field": "field_region", "entity": "region", "source": "source_region"}[where]: bad})
    path = folder / "onepane.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert f"{path}: {message}" in str(caught.value)


def test_gateway_region_takes_a_country_name(folder: Path) -> None:
    data = {**config(), "gateway": {"region": "united states"}}
    assert by_id(everyone(folder, data))["crm:8"]["phones"] == ["+15035557555"]
    path = folder / "bad.yaml"
    path.write_text(yaml.safe_dump({**config(), "gateway": {"region": "Narnia"}}), "utf-8")
    with pytest.raises(ConfigError, match=r"gateway\.region: 'Narnia' is not a country"):
        load_config(path, {})


def test_a_rest_source_reads_each_record_in_its_own_country(tmp_path: Path) -> None:
    """`region: {path: address.country}`: a JSON record's own country, with the source's fallback."""
    from aiohttp import web

    from connectors.rest import RestConnector
    from federation.contract import ConnectorContext, SearchRequest
    from federation.model import builtin_model

    people = [{"id": "1", "tel": "030-0074321", "address": {"country": "Germany"}},
              {"id": "2", "tel": "(171) 555-7788", "address": {"country": "uk"}},
              {"id": "3", "tel": "0452-076545", "address": {}},
              {"id": "4", "tel": "28303384290", "address": {"country": "Narnia"}}]

    async def handler(_request: web.Request) -> web.Response:
        return web.json_response({"data": people})

    app = web.Application()
    app.router.add_get("/people", handler)

    async def run() -> dict[str, Any]:
        async with serve_app(app) as url:
            options = RestConnector.validate_options({
                "base_url": url, "region": "CH", "entities": {"Customer": {
                    "path": "/people", "records": "data", "id": {"path": "id"},
                    "region": {"path": "address.country"},
                    "fields": {"phones": {"path": "tel"}}, "keys": {"phone": {"path": "tel"}}}}})
            connector = RestConnector("crm", options, ConnectorContext(model=builtin_model(), base_dir=tmp_path))
            await connector.open()
            try:
                found = await connector.search("Customer", SearchRequest())
            finally:
                await connector.close()
            return {r.local_id: (r.fields["phones"], r.keys.get("phone"), r.errors.get("phones")) for r in found}

    got = asyncio.run(run())
    assert got["1"][:2] == (["+49300074321"], ("+49300074321",))
    assert got["2"][:2] == (["+441715557788"], ("+441715557788",))
    assert got["3"][:2] == (["+41452076545"], ("+41452076545",))  # no country: the source's CH
    phones, keys, note = got["4"]
    assert phones == ["28303384290"] and keys == ("28303384290",)
    assert note is not None and "'Narnia'" in note and "kept as written" in note


def test_a_masked_role_never_reads_the_value_inside_a_note(folder: Path) -> None:
    data = config(region={"column": "country"})
    data["security"] = {"anonymous_role": "agent", "roles": {"agent": {
        "allow": ["*"], "mask": {"Customer.phones": "phone", "Customer.emails": "email"}}}}
    body = everyone(folder, data)
    liu = by_id(body)["crm:5"]
    assert liu["phones"] == ["********290"] and liu["emails"] == ["l***@example"]
    found = notes(body)
    assert set(found) == {("crm:5", "phones"), ("crm:5", "emails"), ("crm:7", "phones")}
    text = " ".join(n["message"] for n in found.values())
    assert "28303384290" not in text and "liu@" not in text and "reception" not in text
    assert all(n["extensions"]["kept"] is True for n in found.values())


def test_a_country_column_that_does_not_exist_is_a_mapping_problem(folder: Path) -> None:
    from connectors.sql import SqlConnector
    from federation.contract import ConnectorContext
    from federation.model import builtin_model

    async def problems(source_region: Any, region: Any) -> list[str]:
        entity = {"table": "customers", "id": "id", "fields": {"phones": "phone"}, "region": region}
        options = SqlConnector.validate_options({"url": "sqlite+aiosqlite:///crm.db", "region": source_region,
                                                 "entities": {"Customer": entity}})
        connector = SqlConnector("crm", options, ConnectorContext(model=builtin_model(), base_dir=folder))
        try:
            return await connector.verify()
        finally:
            await connector.close()

    assert asyncio.run(problems("FR", {"column": "country"})) == []
    for source_region, region in (("FR", {"column": "Land"}), ({"column": "Land"}, None)):
        found = asyncio.run(problems(source_region, region))
        assert found == ["entities.Customer.region.column: no column 'Land' in table 'customers' "
                         "(close matches: none)"], found


def test_a_related_record_holding_the_number_unreadably_is_found_by_its_digits(folder: Path) -> None:
    """The helpdesk (a French system) wrote a British number without its country code: 10 digits no
    French number has. The customer's cases still include it, by its national significant number."""
    with sqlite3.connect(folder / "desk.db") as conn:
        conn.execute("CREATE TABLE cases (id TEXT PRIMARY KEY, subject TEXT, tel TEXT)")
        conn.executemany("INSERT INTO cases VALUES (?, ?, ?)", [
            ("K1", "Broken kettle", "20 79 46 09 58"), ("K2", "Someone else", "20 79 46 09 59")])
    with sqlite3.connect(folder / "crm.db") as conn:
        conn.execute("INSERT INTO customers VALUES ('9', 'Ann Lee', '+44 20 7946 0958', 'UK', 'ann@example.com')")
    data = config(region={"column": "country"})
    data["sources"]["desk"] = {"type": "sql", "url": "sqlite+aiosqlite:///desk.db", "region": "France",
                               "entities": {"Case": {"table": "cases", "id": "id", "fields": {"subject": "subject"},
                                                     "keys": {"customerPhone": "tel"}}}}

    async def run() -> dict[str, Any]:
        async with served(folder, data) as url:
            return await ask(url, '{ customer(id: "crm:9") { phones cases { id subject } } }')
    body = asyncio.run(run())
    assert hard_errors(body) == []
    assert body["data"]["customer"] == {"phones": ["+442079460958"], "cases": [{"id": "desk:K1",
                                                                               "subject": "Broken kettle"}]}
