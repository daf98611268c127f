"""The shared audit table (`security.audit.url`) on PostgreSQL and SQLite, through the gateway over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from federation.config.loader import parse_config
from federation.demo.run import demo_config_text
from federation.errors import ConfigError
from federation.identity.overrides import resolve_url
from tests.conftest import free_port, fresh_postgres
from tests.security.conftest import SECURITY, api_key, secured_config
from tests.stories.conftest import LiveDemo, post_raw

QUERY = '{ customers(email: "ann.lee@example.com") { id name purchases { orderNumber } } }'
NAMED = 'query AgentLookup { customers(email: "ann.lee@example.com") { id name purchases { orderNumber } } }'
ENV = {"ONEPANE_CRM_URL": "http://127.0.0.1:9", "ONEPANE_CRM_API_KEY": "unused"}  # the demo config's CRM
ANALYST = "{ purchases(filter: {channel: STORE}) { nodes { id total { amount } } } }"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; `postgresql://` as an operator writes it."""
    with fresh_postgres("onepane_audit") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite+aiosqlite:///audit/audit.db"  # relative: resolved against the config's folder
    url: str = request.getfixturevalue("postgres_url")
    return url


def gateway(folder: Path, audit: dict[str, Any]) -> LiveDemo:
    return LiveDemo(folder, secured_config({**SECURITY, "audit": audit}))


def rows(url: str, folder: Path) -> list[dict[str, Any]]:
    """Every audit row, read with a separate engine (as another instance or an auditor would)."""
    async def read() -> list[dict[str, Any]]:
        engine = create_async_engine(resolve_url(url, folder), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(sa.text("SELECT * FROM onepane_audit ORDER BY id"))
                return [dict(r._mapping) for r in result]
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def _execute(url: str, statement: str) -> None:
    engine = create_async_engine(resolve_url(url, Path(".")), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


def test_a_request_over_http_writes_one_committed_row(audit_url: str, tmp_path: Path) -> None:
    live = gateway(tmp_path, {"url": audit_url})
    try:
        # The entry names the operation the request body names (as the JSONL entry does).
        named = orjson.dumps({"query": NAMED, "operationName": "AgentLookup"})
        status, body = post_raw(live.handle.url, NAMED, headers=api_key("agent"), body=named)
        # Read while the gateway still runs: the row is committed before the answer, not at shutdown.
        (row,) = rows(audit_url, tmp_path)
    finally:
        live.close()
    assert status == 200 and body["data"]["customers"][0]["id"] == "shop:1"
    assert (row["principal"], row["role"], row["operation_name"]) == ("agent-ui", "agent", "AgentLookup")
    assert len(row["operation_hash"]) == 64 and row["errors"] == 0
    assert orjson.loads(row["customer_ids"]) == ["shop:1"]
    fields = orjson.loads(row["fields"])
    assert fields == sorted(fields)
    assert {"Query.customers", "Customer.id", "Customer.name", "Purchase.orderNumber"} <= set(fields)
    assert row["at"] is not None
    if audit_url.startswith("sqlite"):
        assert (tmp_path / "audit" / "audit.db").is_file()  # next to the config, not the working directory


def test_two_gateways_share_one_table(postgres_url: str, tmp_path: Path) -> None:
    first = gateway(tmp_path / "a", {"url": postgres_url})
    second = gateway(tmp_path / "b", {"url": postgres_url})
    try:
        # Both first requests at once: both instances create the table if missing, concurrently.
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda call: post_raw(*call), [
                (first.handle.url, QUERY, None, api_key("agent")),
                (second.handle.url, ANALYST, None, api_key("analyst")),
            ]))
        post_raw(second.handle.url, QUERY, headers=api_key("admin"))
        found = rows(postgres_url, tmp_path)
    finally:
        first.close()
        second.close()
    assert [status for status, _ in answers] == [200, 200]
    assert [body.get("errors") for _, body in answers] == [None, None]
    assert sorted((r["principal"], r["role"]) for r in found) == [
        ("admin-ui", "admin"), ("agent-ui", "agent"), ("analyst-ui", "analyst")]
    assert len({r["id"] for r in found}) == 3


def test_an_unreachable_database_withholds_the_answer_without_leaking(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://auditor:Sup3rSecretPw@127.0.0.1:{port}/audit"
    live = gateway(tmp_path, {"url": url})
    try:
        with caplog.at_level(logging.INFO):
            status, body = post_raw(live.handle.url, QUERY, headers=api_key("agent"))
    finally:
        live.close()
    assert status == 200  # as when the JSONL file cannot be written: a GraphQL error, no data
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    text = orjson.dumps(body).decode()
    for leak in ("Sup3rSecretPw", "auditor", str(port), "postgresql", "INSERT", "onepane_audit", "Traceback",
                 "ann.lee", "shop:1"):
        assert leak not in text, leak
    assert "Sup3rSecretPw" not in caplog.text
    assert f"postgresql+asyncpg://auditor:***@127.0.0.1:{port}/audit" in caplog.text  # operators see where


def test_a_failed_write_withholds_the_answer_and_the_next_one_recovers(postgres_url: str, tmp_path: Path) -> None:
    live = gateway(tmp_path, {"url": postgres_url})
    try:
        assert "errors" not in post_raw(live.handle.url, QUERY, headers=api_key("agent"))[1]
        asyncio.run(_execute(postgres_url, "DROP TABLE onepane_audit"))
        _, failed = post_raw(live.handle.url, QUERY, headers=api_key("agent"))
        _, recovered = post_raw(live.handle.url, QUERY, headers=api_key("agent"))
        found = rows(postgres_url, tmp_path)
    finally:
        live.close()
    assert failed["data"] is None
    assert [e["extensions"]["code"] for e in failed["errors"]] == ["AUDIT_UNAVAILABLE"]
    message = failed["errors"][0]["message"]
    assert "onepane_audit" not in message and "relation" not in message and "INSERT" not in message
    assert recovered["data"]["customers"][0]["id"] == "shop:1"  # the table is created again
    assert len(found) == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (every write fails with ENOSPC)")
def test_the_jsonl_file_fails_the_same_way(tmp_path: Path) -> None:
    live = gateway(tmp_path, {"path": "/dev/full", "fsync": False})
    try:
        status, body = post_raw(live.handle.url, QUERY, headers=api_key("agent"))
    finally:
        live.close()
    assert status == 200 and body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["AUDIT_UNAVAILABLE"]


def _config_problems(audit: dict[str, Any], tmp_path: Path) -> list[str]:
    config = yaml.safe_load(demo_config_text())
    config["security"] = {**SECURITY, "audit": audit}
    with pytest.raises(ConfigError) as caught:
        parse_config(config, tmp_path / "gateway.yaml", ENV)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(("audit", "says"), [
    ({}, "neither was given"),
    ({"fsync": True}, "neither was given"),
    ({"path": "audit.jsonl", "url": "sqlite+aiosqlite:///audit.db"}, "both were given"),
])
def test_exactly_one_of_path_and_url(audit: dict[str, Any], says: str, tmp_path: Path) -> None:
    (problem,) = _config_problems(audit, tmp_path)
    assert "security.audit" in problem and says in problem
    assert "path" in problem and "url" in problem


def test_a_bad_url_is_named_without_echoing_it(tmp_path: Path) -> None:
    (problem,) = _config_problems({"url": "not a url with Sup3rSecretPw"}, tmp_path)
    assert "security.audit.url" in problem and "not a database URL" in problem
    assert "Sup3rSecretPw" not in problem


def test_fsync_is_refused_with_url(tmp_path: Path) -> None:
    (problem,) = _config_problems({"url": "sqlite+aiosqlite:///audit.db", "fsync": False}, tmp_path)
    assert "fsync is for path only" in problem


def test_a_url_or_a_path_alone_is_valid(tmp_path: Path) -> None:
    for audit in ({"url": "postgresql://u:p@db/audit"}, {"path": "audit.jsonl"}):
        config = yaml.safe_load(demo_config_text())
        config["security"] = {**SECURITY, "audit": audit}
        security = parse_config(config, tmp_path / "gateway.yaml", ENV).security
        assert security is not None and security.audit is not None
        assert "u:p@" not in repr(security.audit)  # the URL (and its password) stays out of reprs
