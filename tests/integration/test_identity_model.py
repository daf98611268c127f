"""A trained identity model over two real SQLite systems: `federation identity train` samples them,
the gateway refuses to start without the model, and with it links a typo'd record the weighted
mean missed, explaining the link level by level (issue 20)."""

from __future__ import annotations

import asyncio
import json
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
from federation.engine.gateway import IDENTITY_DEGRADED_ENV, Gateway
from federation.errors import ConfigError
from federation.keys import normalize_sound_year
from federation.server import create_app

GIVEN = ["james", "mary", "john", "linda", "peter", "susan", "david", "karen", "ahmed", "wei", "olga", "tariq",
         "sophie", "lucas", "mateo", "aroha", "kofi", "ines", "yusuf", "hana", "ravi", "nadia", "omar", "lena"]
FAMILY = ["smith", "nguyen", "okafor", "kowalski", "garcia", "murphy", "tanaka", "haddad", "silva", "brown",
          "walker", "rossi", "kim", "novak", "dubois", "jensen", "ward", "patel", "cohen", "ivanova", "reid"]
# `family_year` is the lookup column a DBA adds for the phonetic block (SQL computes no Soundex):
# filled by the load here, as an ETL job would.
TABLE = ("CREATE TABLE people (id TEXT PRIMARY KEY, given TEXT, family TEXT, dob TEXT, postcode TEXT, "
         "family_year TEXT)")


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("abdefghklmnprstuvw") + word[i + 1:]


def _systems(folder: Path) -> None:
    """`shop` holds 400 people; `crm` holds about half of them again, many with one slip, and others."""
    rng = random.Random(11)
    shop: list[tuple[str, ...]] = []
    crm: list[tuple[str, ...]] = []
    for i in range(400):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d")
        postcode = str(rng.randrange(2000, 2600))
        shop.append((str(i), given, family, born, postcode))
        if rng.random() < 0.5:
            slip = rng.random()
            copy = [f"C{i}", given, family, born, postcode]
            if slip < 0.3:
                copy[2] = _typo(family, rng)
            elif slip < 0.5:
                copy[3] = born[:7] + str((int(born[7]) + 3) % 10)
            elif slip < 0.6:
                copy[4] = postcode[:3] + str((int(postcode[3]) + 1) % 10)
            crm.append(tuple(copy))
        else:
            crm.append((f"X{i}", rng.choice(GIVEN), rng.choice(FAMILY),
                        (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                        str(rng.randrange(2000, 2600))))
    # The walk-in: one slip in the surname, one digit of the date; nobody else shares the postcode.
    shop.append(("T1", "tommy", "green", "19850604", "2999"))
    crm.append(("CT1", "tommy", "grene", "19850614", "2999"))
    # Shares no date, postcode or family name with her other record: only the phonetic block finds her.
    shop.append(("T2", "anna", "kowalski", "19700312", "2998"))
    crm.append(("CT2", "anna", "kowalsky", "19700321", "2988"))
    for name, rows in (("shop", shop), ("crm", crm)):
        with sqlite3.connect(folder / f"{name}.db") as db:
            db.execute(TABLE)
            db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)",
                           [(*r, normalize_sound_year(f"{r[2]} {r[3]}")) for r in rows])


def _config(folder: Path, model: bool) -> Path:
    mapping = {"table": "people", "id": "id", "fields": {"givenName": "given", "familyName": "family"},
               "keys": {"dob": "dob", "postcode": "postcode", "family": "family",
                        "familyYear": {"columns": ["family", "dob"], "transform": [{"join": " "}]}},
               "lookup_columns": {"key:familyYear": "family_year"}}
    identity: dict[str, Any] = {"rules": {"person": {
        "blocking": [["dob"], ["postcode"], ["family"], ["familyYear"]],
        "compare": {"name": {"method": "name", "fields": ["givenName", "familyName"], "weight": 4},
                    "dob": {"method": "date", "weight": 3}, "postcode": {"method": "code", "weight": 1}}}}}
    if model:
        identity["model"] = "person-model.json"
    else:
        identity["rules"]["person"]["autoLink"] = True
    config = {
        "gateway": {"graphiql": False},
        "security": {"anonymous_role": "clerk", "roles": {"clerk": {"allow": ["*"]}}},
        "model": {"entities": {"Customer": {
            "fields": {"givenName": {"type": "String"}, "familyName": {"type": "String"}},
            "keys": {"dob": {"normalize": "code"}, "postcode": {"normalize": "code"},
                     "family": {"normalize": "code"}, "familyYear": {"normalize": "soundYear"}},
            "identity": identity}}},
        "sources": {name: {"type": "sql", "url": f"sqlite+aiosqlite:///{name}.db", "max_rows": 5000,
                           "entities": {"Customer": mapping}} for name in ("shop", "crm")},
    }
    path = folder / ("trained.yaml" if model else "weighted.yaml")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


EXPLANATION = "rule other matchProbability matchWeight prior comparisons { comparison level weight similarity }"
QUERY = ('{ customer(id: "%s") { sourceRecords { source localId linkedBy matchedBy { ' + EXPLANATION + " } } "
         "possibleMatches { score explanation { " + EXPLANATION + " } "
         "customer { sourceRecords { source localId } } } } }")


async def _walk_in(path: Path, ref: str = "shop:T1") -> dict[str, Any]:
    """A walk-in customer over GraphQL on loopback: its records and possible matches."""
    runner = web.AppRunner(create_app(Gateway.from_config(load_config(path))), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
        query = {"query": QUERY.replace("%s", ref)}
        async with aiohttp.ClientSession() as http, http.post(url, json=query) as response:
            body = await response.json()
    finally:
        await runner.cleanup()
    assert "errors" not in body, body
    return dict(body["data"]["customer"])


def _records(customer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['source']}:{r['localId']}": r for r in customer["sourceRecords"]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identity-model")
    _systems(path)
    return path


def test_without_its_model_file_the_gateway_does_not_start(folder: Path) -> None:
    with pytest.raises(ConfigError, match=r"identity\.model: no model file at .*person-model\.json: train one"):
        Gateway.from_config(load_config(_config(folder, model=True)))


def test_allow_degraded_serves_exact_keys_and_warns_in_readyz(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = yaml.safe_load(_config(folder, model=True).read_text())
    config["model"]["entities"]["Customer"]["identity"]["model"] = "never-trained.json"
    path = folder / "degraded.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv(IDENTITY_DEGRADED_ENV, "1")   # what `federation serve --allow-degraded` sets

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        runner = web.AppRunner(create_app(Gateway.from_config(load_config(path))), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/readyz") as response:
                    ready = await response.json()
                async with http.post(f"{base}/graphql", json={"query": QUERY.replace("%s", "shop:T1")}) as response:
                    answer = await response.json()
        finally:
            await runner.cleanup()
        return ready, answer["data"]["customer"]

    ready, customer = asyncio.run(run())
    assert ready["status"] == "ready"
    assert "Customer: exact keys only, no fuzzy rules: " in ready["warnings"][0]
    assert "never-trained.json" in ready["warnings"][0]
    assert list(_records(customer)) == ["shop:T1"] and customer["possibleMatches"] == []


def test_train_then_link_the_typo_the_weighted_mean_missed(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = asyncio.run(_walk_in(_config(folder, model=False)))
    assert list(_records(before)) == ["shop:T1"]                       # before: not linked, only suggested
    suggested = before["possibleMatches"][0]
    assert suggested["customer"]["sourceRecords"] == [{"source": "crm", "localId": "CT1"}]
    assert suggested["explanation"]["matchWeight"] is None             # a weighted mean has similarities
    assert {c["comparison"]: c["similarity"] for c in suggested["explanation"]["comparisons"]}["dob"] == 0.7

    path = _config(folder, model=True)
    assert cli(["identity", "train", str(path), "--random-pairs", "20000"]) == 0
    printed = capsys.readouterr().err
    assert "sampling Customer from shop" in printed and "shop: 402 records" in printed
    saved = json.loads((folder / "person-model.json").read_text())
    assert saved["sources"] == {"crm": 402, "shop": 402} and saved["version"] == 1
    assert [lv["level"] for lv in saved["rules"]["person"]["comparisons"]["dob"]["levels"]][:2] == [
        "exact", "one digit"]

    after = _records(asyncio.run(_walk_in(path)))                      # autoLink defaults on with a model
    assert set(after) == {"shop:T1", "crm:CT1"}
    reason = after["crm:CT1"]["linkedBy"][0]
    assert reason.startswith("rule person p=")
    assert "name close 'tommy grene' ~ 'tommy green'" in reason and "dob one digit '19850614' ~ '19850604'" in reason
    explained = after["crm:CT1"]["matchedBy"][0]                      # the same, as data
    assert explained["other"] == "shop:T1" and explained["matchProbability"] >= 0.95
    levels = {c["comparison"]: (c["level"], c["weight"]) for c in explained["comparisons"]}
    assert levels["name"][0] == "close" and levels["dob"][0] == "one digit" and levels["postcode"][0] == "exact"
    assert explained["matchWeight"] == pytest.approx(explained["prior"] + sum(w for _, w in levels.values()),
                                                     abs=1e-6)


def test_the_phonetic_block_finds_a_record_sharing_no_exact_value(folder: Path) -> None:
    path = _config(folder, model=True)
    if not (folder / "person-model.json").exists():
        assert cli(["identity", "train", str(path), "--random-pairs", "5000"]) == 0
    customer = asyncio.run(_walk_in(path, "shop:T2"))
    found = set(_records(customer)) | {f"{r['source']}:{r['localId']}" for m in customer["possibleMatches"]
                                       for r in m["customer"]["sourceRecords"]}
    assert "crm:CT2" in found


def test_a_phonetic_key_needs_a_column_that_holds_it(folder: Path) -> None:
    """SQL computes no soundex: without `lookup_columns` the block is refused at start, never
    answered by comparing raw surnames with codes."""
    path = _config(folder, model=False)
    config = yaml.safe_load(path.read_text())
    for source in config["sources"].values():
        source["entities"]["Customer"].pop("lookup_columns", None)  # one mapping, shared by both
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"blocking\[3\]: no source can filter Customer on familyYear"):
        Gateway.from_config(load_config(path))


def test_a_model_trained_on_other_sources_is_refused(folder: Path) -> None:
    path = _config(folder, model=True)
    model = folder / "person-model.json"
    if not model.exists():
        assert cli(["identity", "train", str(path), "--random-pairs", "5000"]) == 0
    data = json.loads(model.read_text())
    data["sources"] = {"shop": 402, "legacy": 10}
    other = folder / "other-model.json"
    other.write_text(json.dumps(data))
    config = yaml.safe_load(path.read_text())
    config["model"]["entities"]["Customer"]["identity"]["model"] = "other-model.json"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="trained on sources legacy, shop; this config's Customer sources are crm"):
        Gateway.from_config(load_config(path))


def test_a_model_that_compares_otherwise_than_the_config_does_not_start(folder: Path) -> None:
    """The config's rule changed after training (a comparison dropped): the model's weights no longer
    describe it, so the gateway refuses to start, naming the file, the difference and the fix."""
    path = _config(folder, model=True)
    if not (folder / "person-model.json").exists():
        assert cli(["identity", "train", str(path), "--random-pairs", "5000"]) == 0
    config = yaml.safe_load(path.read_text())
    del config["model"]["entities"]["Customer"]["identity"]["rules"]["person"]["compare"]["postcode"]
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"person-model\.json.*rules\.person: compares dob, name, postcode; the "
                                          r"config compares dob, name: train again"):
        Gateway.from_config(load_config(path))


def test_training_on_a_source_that_cannot_be_read_names_it_and_writes_nothing(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One of two systems is unreadable (its table is gone): training names it and trains on neither,
    since a model of the other alone would be refused at start-up anyway."""
    path = _config(folder, model=True)
    config = yaml.safe_load(path.read_text())
    config["sources"]["crm"]["url"] = "sqlite+aiosqlite:///empty.db"
    config["model"]["entities"]["Customer"]["identity"]["model"] = "unreadable-model.json"
    with sqlite3.connect(folder / "empty.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS other (id TEXT)")
    path = folder / "unreadable.yaml"
    path.write_text(yaml.safe_dump(config))
    assert cli(["identity", "train", str(path), "--random-pairs", "5000"]) == 1
    printed = " ".join(capsys.readouterr().err.split())
    assert "training failed: cannot read crm (" in printed and "trained on none, nothing written" in printed
    assert "cannot read shop" not in printed
    assert not (folder / "unreadable-model.json").exists()
