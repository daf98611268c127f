"""An audit path the gateway cannot write is a config error: `check` names file and path, `serve`
refuses with exit 2 and a clear message, never a traceback (issue 25)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.errors import ConfigError
from federation.security.audit_db import open_audit
from federation.security.settings import AuditSettings
from tests.security.conftest import SECURITY


def _config(folder: Path, audit_path: str) -> Path:
    build_demo(folder)
    config = yaml.safe_load(demo_config_text())
    config["sources"] = {name: s for name, s in config["sources"].items() if s["type"] == "sql"}
    security = copy.deepcopy(SECURITY)
    security["audit"] = {"path": audit_path}
    config["security"] = security
    path = folder / "gateway.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _federation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize(("make", "reason"), [
    (lambda folder: (folder / "blocker").write_text("a file"), "is a file, not a folder"),  # audit under a file
    (lambda folder: (folder / "blocker").mkdir(), "it is a folder"),  # the path itself is a folder
])
@pytest.mark.parametrize("command", ["check", "serve"])
def test_unwritable_audit_path_is_a_config_error(tmp_path: Path, command: str, make: object, reason: str) -> None:
    make(tmp_path)  # type: ignore[operator]
    audit = "blocker/audit.jsonl" if "file" in reason else "blocker"
    config = _config(tmp_path, audit)
    done = _federation(command, str(config), *(["--port", "0"] if command == "serve" else []))
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "gateway.yaml: security.audit.path" in output and reason in output
    assert str(tmp_path / audit) in output.replace("\n", "")


def test_made_unwritable_after_check_is_still_a_config_error(tmp_path: Path) -> None:
    settings = AuditSettings(path=tmp_path / "logs" / "audit.jsonl")
    (tmp_path / "logs").write_text("now a file")  # between check and serve
    with pytest.raises(ConfigError) as caught:
        open_audit(settings, tmp_path)
    assert "security.audit.path" in str(caught.value) and "audit.jsonl" in str(caught.value)
