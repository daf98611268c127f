"""The audit entry is on disk before the answer leaves: killing the gateway right after loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.security import AuditLog
from tests.conftest import free_port
from tests.security.conftest import SECURITY, api_key
from tests.stories.conftest import post


def test_entry_survives_a_kill_right_after_the_answer(tmp_path: Path) -> None:
    build_demo(tmp_path)
    config = yaml.safe_load(demo_config_text())
    config["sources"] = {name: s for name, s in config["sources"].items() if s["type"] in ("sql", "files")}
    groups = config["gateway"]["key_groups"]  # a group names only configured sources
    config["gateway"]["key_groups"] = {g: [s for s in m if s in config["sources"]] for g, m in groups.items()}
    config["security"] = SECURITY
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "federation", "serve", str(tmp_path / "gateway.yaml"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        body = post(url, '{ customers(email: "ann.lee@example.com") { id name purchases { orderNumber } } }',
                    headers=api_key("agent"))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert body["data"]["customers"][0]["id"] == "shop:1"
    (entry,) = AuditLog.read(tmp_path / "audit.jsonl")
    assert entry["principal"] == "agent-ui" and entry["role"] == "agent"
    assert entry["customerIds"] == ["shop:1"]
    assert {"Query.customers", "Customer.name", "Purchase.orderNumber"} <= set(entry["fields"])
    assert len(entry["operationHash"]) == 64
    assert os.stat(tmp_path / "audit.jsonl").st_mode & 0o077 == 0  # not readable by others
