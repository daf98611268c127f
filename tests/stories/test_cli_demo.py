"""`federation demo` as a user runs it: prints the GraphiQL URL, answers, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
