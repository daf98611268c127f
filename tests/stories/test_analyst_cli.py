"""`federation query` as an analyst runs it: pages followed, CSV out, failures in output and exit code."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from tests.stories.conftest import LiveDemo, post

PAGED = """query($after: String, $first: Int!) {
  purchases(first: $first, after: $after) {
    nodes { id channel placedAt total { amount currency } store { name } items { name } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", "query", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_csv_follows_every_page_and_flattens_nested_fields(demo: LiveDemo, tmp_path: Path) -> None:
    document = tmp_path / "purchases.graphql"
    document.write_text(PAGED)
    result = run(str(document), "--url", demo.handle.url, "--var", "first=4", "--format", "csv")
    # the demo's one unreadable POS date is reported, so the export says it is incomplete
    assert result.returncode == 3, result.stderr
    assert "1 value(s) could not be read" in result.stderr and "20251399" in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    everything = post(demo.handle.url, "{ purchases(first: 100) { nodes { id } } }")["data"]["purchases"]["nodes"]
    assert [r["id"] for r in rows] == [n["id"] for n in everything]
    assert {"total.amount", "total.currency", "store.name", "items"} <= set(rows[0])
    store_sale = next(r for r in rows if r["id"] == "pos:0034:58213")
    assert store_sale["store.name"] == "MANCHESTER ARNDALE" and "SLIM TROUSERS" in store_sale["items"]


def test_a_failing_source_is_named_and_the_exit_code_says_incomplete(tmp_path: Path) -> None:
    live = LiveDemo(tmp_path / "demo")
    try:
        live.run(live.handle.crm.cleanup())
        document = tmp_path / "ann.graphql"
        document.write_text('{ customers(email: "ann.lee@example.com") { id name emails } }')
        result = run(str(document), "--url", live.handle.url, "--format", "csv")
    finally:
        live.close()
    assert result.returncode == 3
    assert "shop:1" in result.stdout
    assert "incomplete" in result.stderr and "crm" in result.stderr


def test_in_process_config_and_role(tmp_path: Path) -> None:
    build_demo(tmp_path)
    config = yaml.safe_load(demo_config_text())
    config["sources"] = {n: s for n, s in config["sources"].items() if s["type"] in ("sql", "files")}  # no CRM server
    groups = config["gateway"]["key_groups"]  # a group names only configured sources
    config["gateway"]["key_groups"] = {g: [s for s in m if s in config["sources"]] for g, m in groups.items()}
    config["security"] = {"roles": {"analyst": {"allow": ["Query.customers", "Customer.name"]},
                                    "admin": {"allow": ["*"]}},
                          "api_keys": [{"name": "ana", "sha256": hashlib.sha256(b"analyst-key-0123456789").hexdigest(),
                                        "role": "analyst"}],
                          "audit": {"path": "audit.jsonl"}}
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(config))
    document = tmp_path / "q.graphql"
    document.write_text('{ customers(name: "Jose Garcia") { name emails } }')
    unauthenticated = run(str(document), "--config", str(tmp_path / "g.yaml"), "--role", "admin",
                          env={"ONEPANE_API_KEY": ""})
    assert unauthenticated.returncode == 2 and "ONEPANE_API_KEY" in unauthenticated.stderr
    key = {"ONEPANE_API_KEY": "analyst-key-0123456789"}
    chosen = run(str(document), "--config", str(tmp_path / "g.yaml"), "--role", "admin", env=key)
    assert chosen.returncode == 2 and "analyst" in chosen.stderr and not (tmp_path / "audit.jsonl").exists()
    result = run(str(document), "--config", str(tmp_path / "g.yaml"), "--role", "analyst", "--format", "json",
                 env=key)
    assert result.returncode == 0, result.stderr
    assert '"name": "Jose Garcia"' in result.stdout and '"emails": []' in result.stdout
    [entry] = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert entry["role"] == "analyst" and "Customer.name" in entry["fields"]


def test_nothing_matched_says_what_was_asked(demo: LiveDemo, tmp_path: Path) -> None:
    document = tmp_path / "none.graphql"
    document.write_text('{ customers(email: "nobody@nowhere.example") { id } }')
    result = run(str(document), "--url", demo.handle.url)
    assert result.returncode == 0
    assert "nothing matched; sources asked:" in result.stderr and "shop" in result.stderr
