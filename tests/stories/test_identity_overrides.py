"""Overrides over HTTP: who may link and unlink records, how links explain themselves, the audit."""

from __future__ import annotations

import copy
import hashlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from federation.demo.run import demo_config_text
from federation.security.audit import AuditLog
from tests.stories.conftest import LiveDemo, post

KEYS = {"agent": "agent-key-0123456789abcdef", "supervisor": "supervisor-key-0123456789abcdef"}
SECURITY: dict[str, Any] = {
    "api_keys": [{"name": f"{role}-ui", "sha256": hashlib.sha256(key.encode()).hexdigest(), "role": role}
                 for role, key in KEYS.items()],
    "roles": {"agent": {"allow": ["*"]}, "supervisor": {"allow": ["*", "Mutation.*"]}},
    "audit": {"path": "audit.jsonl", "fsync": False},
}
LINK = """mutation($a: ID!, $b: ID!, $reason: String!) {
  linkRecords(a: $a, b: $b, reason: $reason) { entity a b kind reason principal createdAt } }"""
UNLINK = """mutation($a: ID!, $b: ID!, $reason: String!) {
  unlinkRecords(a: $a, b: $b, reason: $reason) { kind } }"""
FORGET = """mutation($a: ID!, $b: ID!) { forgetRecordLink(a: $a, b: $b, reason: "undo") { kind } }"""
RECORDS = "query($id: ID!) { customer(id: $id) { sourceRecords { source localId linkedBy } } }"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    config = yaml.safe_load(demo_config_text())
    config["security"] = copy.deepcopy(SECURITY)
    config["gateway"]["identity"] = {"overrides": {"url": "sqlite+aiosqlite:///state/overrides.db",
                                                   "refresh_seconds": 0}}
    live = LiveDemo(tmp_path_factory.mktemp("overrides"), yaml.safe_dump(config, sort_keys=False))
    yield live
    live.close()


def call(live: LiveDemo, role: str, query: str, **variables: Any) -> dict[str, Any]:
    return post(live.handle.url, query, variables, {"X-Api-Key": KEYS[role]})


def records(live: LiveDemo, ref: str) -> dict[str, list[str]]:
    data = call(live, "supervisor", RECORDS, id=ref)["data"]["customer"]
    return {f"{r['source']}:{r['localId']}": r["linkedBy"] for r in data["sourceRecords"]}


def stored(live: LiveDemo) -> int:
    path = live.handle.config.parent / "state" / "overrides.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from onepane_identity_overrides").fetchone()[0])


def test_a_role_that_only_reads_everything_may_not_link(gateway: LiveDemo) -> None:
    result = call(gateway, "agent", LINK, a="shop:8", b="crm:C-1012", reason="same person")
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert stored(gateway) == 0


def test_link_joins_records_and_explains_itself_then_forget_undoes_it(gateway: LiveDemo) -> None:
    assert "crm:C-1012" not in records(gateway, "shop:8")
    result = call(gateway, "supervisor", LINK, a="shop:8", b="crm:C-1012", reason="confirmed on the phone")
    row = result["data"]["linkRecords"]
    assert (row["kind"], row["a"], row["b"], row["principal"]) == ("link", "crm:C-1012", "shop:8", "supervisor-ui")
    linked = records(gateway, "shop:8")
    assert "override by supervisor-ui: confirmed on the phone ~ shop:8" in linked["crm:C-1012"]
    call(gateway, "supervisor", FORGET, a="crm:C-1012", b="shop:8")
    assert "crm:C-1012" not in records(gateway, "shop:8")


def test_unlink_beats_a_shared_email(gateway: LiveDemo) -> None:
    assert "crm:C-1010" in records(gateway, "shop:7")  # p.wilson@example.com in both
    call(gateway, "supervisor", UNLINK, a="shop:7", b="crm:C-1010", reason="father and son, same email")
    assert list(records(gateway, "shop:7")) == ["shop:7"]
    assert "shop:7" not in records(gateway, "crm:C-1010")
    call(gateway, "supervisor", FORGET, a="shop:7", b="crm:C-1010")
    assert "crm:C-1010" in records(gateway, "shop:7")


@pytest.mark.parametrize(("a", "b", "code", "says"), [
    ("shop:99999", "crm:C-1010", "NOT_FOUND", "a: no Customer 'shop:99999'; nothing stored"),
    ("shop:7", "nowhere:1", "NOT_FOUND", "b: no source 'nowhere'"),
    ("shop:7", "not-an-id", "BAD_USER_INPUT", "b: 'not-an-id' is not a record id"),
    ("shop:7", "shop:7", "BAD_USER_INPUT", "a record is always itself"),
])
def test_an_override_naming_a_missing_record_stores_nothing(gateway: LiveDemo, a: str, b: str, code: str,
                                                           says: str) -> None:
    before = stored(gateway)
    result = call(gateway, "supervisor", LINK, a=a, b=b, reason="typo")
    assert result["errors"][0]["extensions"]["code"] == code
    assert says in result["errors"][0]["message"]
    assert stored(gateway) == before


def test_mutations_are_audited_with_the_principal(gateway: LiveDemo) -> None:
    call(gateway, "supervisor", UNLINK, a="shop:8", b="crm:C-1011", reason="audit check")
    call(gateway, "supervisor", FORGET, a="shop:8", b="crm:C-1011")
    entries = AuditLog.read(gateway.handle.config.parent / "audit.jsonl")
    mine = [e for e in entries if "Mutation.unlinkRecords" in e["fields"]]
    assert mine and mine[-1]["principal"] == "supervisor-ui" and mine[-1]["role"] == "supervisor"
    denied = [e for e in entries if "Mutation.linkRecords" in e["fields"] and e["role"] == "agent"]
    assert denied and denied[0]["errors"] == 1
