"""A walk-in customer over HTTP on two real SQLite systems with a trained model: the clerk types a
name, a date of birth and a postcode (with slips) and `customers(match:)` answers the customer
first, explained comparison by comparison; a stranger is nobody; an exact email is a match by key;
a role that may not read the date of birth may not match on it; an empty match is a user error."""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from federation.cli import main as cli
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.keys import normalize_sound_year
from federation.server import create_app

GIVEN = ["james", "mary", "john", "linda", "peter", "susan", "david", "karen", "ahmed", "wei", "olga", "tariq",
         "sophie", "lucas", "mateo", "aroha", "kofi", "ines", "yusuf", "hana", "ravi", "nadia", "omar", "lena"]
FAMILY = ["smith", "nguyen", "okafor", "kowalski", "garcia", "murphy", "tanaka", "haddad", "silva", "brown",
          "walker", "rossi", "kim", "novak", "dubois", "jensen", "ward", "patel", "cohen", "ivanova", "reid"]
TABLE = ("CREATE TABLE people (id TEXT PRIMARY KEY, given TEXT, family TEXT, dob TEXT, postcode TEXT, "
         "email TEXT, family_year TEXT)")
MATCH = ("match { score reasons matchedByKeys explanation { rule other matchProbability matchWeight prior "
         "comparisons { comparison level weight } } }")


def _systems(folder: Path) -> None:
    """`shop` and `crm` each hold 300 people, about half of them the same people; plus Tommy Green in both."""
    rng = random.Random(5)
    rows: dict[str, list[tuple[str, ...]]] = {"shop": [], "crm": []}
    for i in range(300):
        person = (rng.choice(GIVEN), rng.choice(FAMILY),
                  (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                  str(rng.randrange(2000, 2600)))
        rows["shop"].append((str(i), *person, ""))
        if rng.random() < 0.5:
            rows["crm"].append((f"C{i}", *person, ""))
        else:
            rows["crm"].append((f"X{i}", rng.choice(GIVEN), rng.choice(FAMILY),
                                (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                                str(rng.randrange(2000, 2600)), ""))
    rows["shop"].append(("T1", "tommy", "green", "19850604", "2999", "tommy@example.com"))
    rows["crm"].append(("CT1", "tommy", "green", "19850604", "2999", ""))
    for name, table in rows.items():
        with sqlite3.connect(folder / f"{name}.db") as db:
            db.execute(TABLE)
            db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(*r, normalize_sound_year(f"{r[2]} {r[3]}")) for r in table])


def _config(folder: Path) -> Path:
    mapping = {"table": "people", "id": "id", "fields": {"givenName": "given", "familyName": "family"},
               "keys": {"dob": "dob", "postcode": "postcode", "email": "email",
                        "familyYear": {"columns": ["family", "dob"], "transform": [{"join": " "}]}},
               "lookup_columns": {"key:familyYear": "family_year"}}
    config = {
        "gateway": {"graphiql": False},
        "security": {"anonymous_role": "clerk", "api_keys": [{"name": "trainee", "role": "trainee",
                                   "sha256": hashlib.sha256(b"k-trainee").hexdigest()},
                                  {"name": "temp", "role": "temp", "sha256": hashlib.sha256(b"k-temp").hexdigest()}],
                     "roles": {"clerk": {"allow": ["*"]},
                               "temp": {"allow": ["*"], "deny": ["Customer.familyName"], "denied": "error"},
                               "trainee": {"allow": ["*"], "deny": ["Customer.dateOfBirth"], "denied": "error"}}},
        "model": {"entities": {"Customer": {
            "fields": {"givenName": {"type": "String"}, "familyName": {"type": "String"}},
            "keys": {"dob": {"normalize": "code"}, "postcode": {"normalize": "code"},
                     "familyYear": {"normalize": "soundYear"}},
            "identity": {"model": "model.json", "rules": {"person": {
                "blocking": [["dob"], ["postcode"], ["familyYear"]],
                "compare": {"name": {"method": "name", "fields": ["givenName", "familyName"]},
                            "dob": {"method": "date"}, "postcode": {"method": "code"}}}}}}}},
        "sources": {name: {"type": "sql", "url": f"sqlite+aiosqlite:///{name}.db", "max_rows": 5000,
                           "entities": {"Customer": mapping}} for name in ("shop", "crm")},
    }
    path = folder / "walkin.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("walk-in")
    _systems(folder)
    path = _config(folder)
    assert cli(["identity", "train", str(path), "--random-pairs", "20000"]) == 0
    return path


def _ask(path: Path, query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        runner = web.AppRunner(create_app(Gateway.from_config(load_config(path))), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
            async with aiohttp.ClientSession() as http, \
                    http.post(url, json={"query": query}, headers=headers or {}) as response:
                return dict(await response.json())
        finally:
            await runner.cleanup()

    return asyncio.run(run())


def _records(customer: dict[str, Any]) -> set[str]:
    return {f"{r['source']}:{r['localId']}" for r in customer["sourceRecords"]}


def test_a_clerk_finds_the_customer_from_name_date_and_postcode_with_slips(config: Path) -> None:
    body = _ask(config, '{ customers(match: {name: "Tomy Grene", dateOfBirth: "1985-06-14", postcode: "2999"}) '
                        "{ sourceRecords { source localId } " + MATCH + " } }")
    assert "errors" not in body, body
    first = body["data"]["customers"][0]
    assert _records(first) == {"shop:T1", "crm:CT1"}
    found = first["match"]
    explained = found["explanation"]
    assert found["score"] == explained["matchProbability"] >= 0.75 and found["matchedByKeys"] == []
    levels = {c["comparison"]: c["level"] for c in explained["comparisons"]}
    assert levels == {"name": "close", "dob": "one digit", "postcode": "exact"}
    # The waterfall: the prior and each comparison's weight sum to the match weight.
    total = explained["prior"] + sum(c["weight"] for c in explained["comparisons"])
    assert abs(total - explained["matchWeight"]) < 0.002
    assert found["reasons"][0].startswith("rule person p=") and "name close 'Tomy Grene' ~ 'tommy green'" \
        in found["reasons"][0]
    scores = [c["match"]["score"] for c in body["data"]["customers"]]
    assert scores == sorted(scores, reverse=True)


def test_a_stranger_is_nobody(config: Path) -> None:
    # Shares Tommy Green's postcode (so his records are candidates), nothing else.
    body = _ask(config, '{ customers(match: {name: "Zebedee Quarrington", dateOfBirth: "1901-02-03", '
                        'postcode: "2999"}) { id } }')
    assert "errors" not in body and body["data"] == {"customers": []}, body
    assert body["extensions"]["sources"]["shop"]["calls"] >= 1   # the candidates were fetched, and scored out


def test_an_exact_email_is_a_match_by_key(config: Path) -> None:
    body = _ask(config, '{ customers(match: {email: "Tommy@Example.com"}) { sourceRecords { source localId } '
                        + MATCH + " } }")
    assert "errors" not in body, body
    [customer] = body["data"]["customers"]
    assert _records(customer) == {"shop:T1", "crm:CT1"}
    assert customer["match"]["score"] == 1.0 and customer["match"]["matchedByKeys"] == ["email"]
    assert customer["match"]["reasons"] == ["matched by key: email = Tommy@Example.com"]


def test_a_role_that_may_not_read_the_date_of_birth_may_not_match_on_it(config: Path) -> None:
    body = _ask(config, '{ customers(match: {name: "Tommy Green", dateOfBirth: "1985-06-04"}) { id } }',
                {"X-API-Key": "k-trainee"})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and "Customer.dateOfBirth" in error["message"]
    allowed = _ask(config, '{ customers(match: {name: "Tommy Green", postcode: "2999"}) { id } }',
                   {"X-API-Key": "k-trainee"})
    assert "errors" not in allowed and allowed["data"]["customers"], allowed
    # The typed whole name is compared as the given and family names: a role denied one may not type it.
    body = _ask(config, '{ customers(match: {name: "Tommy Green", postcode: "2999"}) { id } }', {"X-API-Key": "k-temp"})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and "Customer.familyName" in error["message"]
    assert not any(s["calls"] for s in body.get("extensions", {}).get("sources", {}).values())  # before any call


def test_an_empty_match_or_an_impossible_date_is_a_user_error(config: Path) -> None:
    body = _ask(config, "{ customers(match: {}) { id } }")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("match: give at least one of name, dateOfBirth, email")
    body = _ask(config, '{ customers(match: {name: "Tommy Green", dateOfBirth: "1985-02-31"}) { id } }')
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "match.dateOfBirth: '1985-02-31'" in error["message"]
