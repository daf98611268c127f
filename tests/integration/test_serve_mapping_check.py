"""`federation check` says "valid" only when it is; `federation serve` refuses a mapping its source contradicts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.conftest import free_port


def _broken_config(tmp_path: Path) -> Path:
    """A SQLite source whose mapping names a table the database does not have."""
    with sqlite3.connect(tmp_path / "pos.db") as db:
        db.execute("CREATE TABLE CUST_MAST (CUST_NO CHAR(8) PRIMARY KEY, EMAIL_ADDR TEXT)")
    config = {"security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
              "sources": {"pos": {"type": "sql", "url": "sqlite+aiosqlite:///pos.db", "entities": {
        "Customer": {"table": "CUSTOMERS", "id": "CUST_NO", "keys": {"email": "EMAIL_ADDR"}}}}}}
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _federation(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_check_never_calls_a_config_with_mapping_problems_valid(tmp_path: Path) -> None:
    done = _federation("check", str(_broken_config(tmp_path)), cwd=tmp_path)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output
    assert "configuration is valid" not in output
    assert "1 mapping problem(s)" in output
    assert "sources.pos.entities.Customer.table: no table or view 'CUSTOMERS'" in output


def test_serve_refuses_a_mapping_its_source_contradicts(tmp_path: Path) -> None:
    done = _federation("serve", str(_broken_config(tmp_path)), "--port", str(free_port()), "--workers", "1",
                       cwd=tmp_path)
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, output
    assert "refusing to serve" in output and "--allow-degraded" in output
    assert "no table or view 'CUSTOMERS'" in output
    assert "Traceback" not in output


def test_serve_allow_degraded_starts_and_readyz_names_the_source(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "federation", "serve", str(_broken_config(tmp_path)),
                                "--port", str(port), "--workers", "1", "--allow-degraded"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status, body = 0, {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                    status, body = response.status, json.loads(response.read())
                break
            except urllib.error.HTTPError as error:
                status, body = error.code, json.loads(error.read())
                break
            except OSError:
                time.sleep(0.2)
        assert status == 503, body
        assert body["sources"]["pos"]["ok"] is False
        assert "mapping does not match" in body["sources"]["pos"]["detail"]
        assert "CUSTOMERS" in body["sources"]["pos"]["detail"]
        # and an answer that needs it says so in extensions.sources, naming the source
        request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                         data=json.dumps({"query": '{ customers(email: "a@b.co") { id } }'}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["extensions"]["sources"]["pos"]["ok"] is False, answer
        assert [e["extensions"].get("source") for e in answer["errors"]] == ["pos"], answer
    finally:
        process.terminate()
        process.wait(timeout=30)
