"""Past one machine (docs/deploy.md): two gateway processes on different ports, one Redis and one
PostgreSQL; an identity override written through one is applied by the other."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from tests.conftest import free_port, fresh_postgres, require_service

KEY = "supervisor-key-0123456789abcdef"
LINK = """mutation($a: ID!, $b: ID!) {
  linkRecords(a: $a, b: $b, reason: "same person, confirmed on the phone") { kind principal } }"""
RECORDS = '{ customer(id: "shop:8") { sourceRecords { source localId linkedBy } } }'


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres("onepane_two") as url:
        yield url


def _post(port: int, query: str, **variables: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=orjson.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json", "X-Api-Key": KEY})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = orjson.loads(response.read())
        return answer


def _records(port: int) -> dict[str, list[str]]:
    answer = _post(port, RECORDS)
    assert not answer.get("errors"), answer
    return {f"{r['source']}:{r['localId']}": r["linkedBy"] for r in answer["data"]["customer"]["sourceRecords"]}


def _ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the gateway on port {port} did not start")


def test_an_override_written_through_one_instance_is_applied_by_the_other(tmp_path: Path, database: str) -> None:
    require_service("127.0.0.1", 6379, "Redis")
    build_demo(tmp_path)
    config = yaml.safe_load(demo_config_text())
    config["sources"].pop("crm")  # the two instances share only what docs/deploy.md says they share
    groups = config["gateway"]["key_groups"]  # a group names only configured sources
    config["gateway"]["key_groups"] = {g: [s for s in m if s in config["sources"]] for g, m in groups.items()}
    config["gateway"]["redis_url"] = "redis://127.0.0.1:6379/0"
    config["gateway"]["identity"] = {"overrides": {"url": database, "refresh_seconds": 1}}
    config["security"] = {
        "api_keys": [{"name": "supervisor-ui", "sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                      "role": "supervisor"}],
        "roles": {"supervisor": {"allow": ["*", "Mutation.*"]}},
    }
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([sys.executable, "-m", "federation", "serve", str(tmp_path / "gateway.yaml"),
                                   "--port", str(port), "--workers", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
                 for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            _ready(port, process)
        one, other = ports
        assert "pos:00006004" not in _records(other)  # the other instance has read the store already
        written = _post(one, LINK, a="shop:8", b="pos:00006004")
        assert written["data"]["linkRecords"] == {"kind": "link", "principal": "supervisor-ui"}
        deadline = time.monotonic() + 10  # applied within the store's refresh_seconds
        while "pos:00006004" not in (seen := _records(other)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("override by supervisor-ui" in reason for reason in seen["pos:00006004"]), seen
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            if process.stderr is not None:
                process.stderr.close()
