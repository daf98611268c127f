"""`federation serve --workers 2`: two processes on one port sharing the Redis record cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import yaml

from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from tests.conftest import free_port, require_service

QUERY = '{ customers(email: "ann.lee@example.com") { id name } }'




def ask(url: str) -> tuple[str, dict[str, object]]:
    """One request on a fresh connection: (the worker that answered, the body)."""
    body = orjson.dumps({"query": QUERY})
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                              "Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["X-Onepane-Worker"], orjson.loads(response.read())


def _two_workers(tmp_path: Path, source: str, settings: dict[str, object],
                 gateway: dict[str, object]) -> tuple[subprocess.Popen[bytes], str]:
    """`federation serve --workers 2` over the demo's shop alone, named `source`, with `settings`
    added to it and `gateway` to the gateway section; the process and its URL."""
    build_demo(tmp_path)
    config = yaml.safe_load(demo_config_text())
    config["gateway"].update(gateway)
    config["sources"] = {source: {**config["sources"]["shop"], **settings}}
    config["model"] = {}
    del config["gateway"]["key_groups"]  # one source: the demo's groups name the others
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "federation", "serve", str(tmp_path / "gateway.yaml"),
                                "--port", str(port), "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    return process, f"http://127.0.0.1:{port}/graphql"


def _until_both_answer(url: str) -> list[tuple[str, dict[str, object]]]:
    """Requests on fresh connections until both workers have answered (30 s at most)."""
    deadline = time.monotonic() + 30
    answers: list[tuple[str, dict[str, object]]] = []
    while time.monotonic() < deadline and len({w for w, _ in answers}) < 2:
        try:
            answers.append(ask(url))
        except OSError:
            time.sleep(0.1)
    assert {w for w, _ in answers} == {"1", "2"}, [w for w, _ in answers]
    return answers


def test_a_record_cached_by_one_worker_is_served_by_the_other(tmp_path: Path) -> None:
    require_service("127.0.0.1", 6379, "Redis")
    source = f"shop_{uuid.uuid4().hex[:8]}"  # a fresh key space in the shared Redis
    process, url = _two_workers(tmp_path, source, {"cache": {"ttl": 120}}, {"redis_url": "redis://127.0.0.1:6379/0"})
    try:
        answers = _until_both_answer(url)
        workers = [w for w, _ in answers]
        first, second = workers[0], next(w for w in workers if w != workers[0])
        stats = [body["extensions"]["sources"][source] for w, body in answers]  # type: ignore[index]
        assert stats[0]["calls"] >= 1  # the first worker asked the database and filled the cache
        served_by_second = [s for (w, _), s in zip(answers, stats, strict=True) if w == second]
        assert served_by_second[0]["calls"] == 0 and served_by_second[0]["cacheHits"] >= 1, (first, stats)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0, process.stderr.read().decode() if process.stderr else ""


def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    process, url = _two_workers(tmp_path, "shop", {}, {})
    try:
        _until_both_answer(url)
    finally:
        process.kill()  # SIGKILL: the parent cannot pass anything on
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            ask(url)
        except OSError:
            return  # no worker answers on the port any more
        time.sleep(0.2)
    raise AssertionError("workers still serve after their parent was killed")
