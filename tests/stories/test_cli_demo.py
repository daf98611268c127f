"""`federation demo` as a user runs it: prints the GraphiQL URL, answers, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port
from tests.stories.conftest import post, story


def test_demo_command_serves_the_stories_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "federation", "demo", "--port", str(port), "--dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if url in line:
                break
        else:
            raise AssertionError("".join(lines))
        body = post(url, story("story1_preorder"))
        assert body.get("errors") is None
        assert body["data"]["customers"][0]["name"] == "Ann Lee"
        assert (tmp_path / "demo" / "queries" / "story1_preorder.graphql").exists()
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=15)
    assert code == 0


def _wait_for_line(process: subprocess.Popen[str], text: str, seconds: float = 30) -> None:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError("".join(lines) + (process.stderr.read() if process.stderr else ""))


def _wait_until_answering(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else "exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_the_demo_config_is_served_by_federation_serve_with_no_variables_set(tmp_path: Path) -> None:
    """`federation demo --systems-only` then `federation serve DIR/demo.yaml`, as the docs say."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPANE_CRM")} | {"PYTHONUNBUFFERED": "1"}
    folder = tmp_path / "demo"
    systems = subprocess.Popen([sys.executable, "-m", "federation", "demo", "--systems-only", "--dir", str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    gateway: subprocess.Popen[str] | None = None
    try:
        _wait_for_line(systems, "demo CRM at")
        port = free_port()
        gateway = subprocess.Popen([sys.executable, "-m", "federation", "serve", str(folder / "demo.yaml"),
                                    "--port", str(port), "--workers", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        _wait_until_answering(f"http://127.0.0.1:{port}/healthz", gateway)
        body = post(f"http://127.0.0.1:{port}/graphql", story("story1_preorder"))
        assert body.get("errors") is None
        assert body["data"]["customers"][0]["name"] == "Ann Lee"
        assert body["extensions"]["sources"]["crm"]["ok"] is True  # the CRM answered on the default address
    finally:
        for process in (gateway, systems):
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=15)


def test_schema_of_a_config_needs_no_source_secrets(tmp_path: Path) -> None:
    config = tmp_path / "onepane.yaml"
    config.write_text("""
model:
  entities:
    Customer:
      fields:
        loyaltyTier: {type: String}
sources:
  crm:
    type: rest
    base_url: ${NOT_SET_CRM_URL}
    auth: {type: api_key, header: X-Api-Key, value: "${NOT_SET_CRM_KEY}"}
    entities: {}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOT_SET")}
    done = subprocess.run([sys.executable, "-m", "federation", "schema", str(config)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loyaltyTier: String" in done.stdout
    assert "NOT_SET" not in done.stdout + done.stderr
