"""`federation new-connector NAME`: a package skeleton that passes the conformance kit as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from federation.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the package's own tests as its author would, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_skeleton_passes_the_kit_out_of_the_box(tmp_path: Path) -> None:
    assert main(["new-connector", "acme_crm", "--dir", str(tmp_path)]) == 0
    package = tmp_path / "onepane-acme-crm"
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points."onepane.connectors"]' in pyproject
    assert 'acme_crm = "onepane_acme_crm:AcmeCrmConnector"' in pyproject
    run = _pytest(package)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "18 passed, 1 skipped" in run.stdout, run.stdout[-1000:]  # the stand-in has no I/O to stall


# Bugs a connector author could write, each as (file, text in it, replacement), and the check of
# the kit that must fail on it with the words it must say.
BUGS = {
    "one request per value": (
        "config.py", "max_batch: int = Field(default=100", "max_batch: int = Field(default=1",
        "test_lookup_by_id_is_one_call", "made 6 requests, not 1"),
    "a cancelled call answers": (
        "client.py", "        await asyncio.sleep(0)\n        return list(self._table(table))",
        "        try:\n            await asyncio.sleep(0)\n        except asyncio.CancelledError:\n"
        "            return []\n        return list(self._table(table))",
        "test_cancelled_calls_raise_and_leave_it_working", "DID NOT RAISE"),
    "records with an unreadable value dropped": (
        "connector.py", "            if record.local_id:\n",
        "            if record.local_id and not record.errors:\n",
        "test_reads_every_record", "a search with no condition"),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_kit_fails_a_connector_with_a_bug(tmp_path: Path, bug: str) -> None:
    """The kit can fail: the generated connector with one bug put in, and the check that names it."""
    file, before, after, check, said = BUGS[bug]
    assert main(["new-connector", "acme_crm", "--dir", str(tmp_path)]) == 0
    source = tmp_path / "onepane-acme-crm" / "src" / "onepane_acme_crm" / file
    text = source.read_text()
    assert before in text
    source.write_text(text.replace(before, after))
    run = _pytest(tmp_path / "onepane-acme-crm")
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"TestAcmeCrmConnector::{check} FAILED" in run.stdout or (
        f"FAILED tests/test_conformance.py::TestAcmeCrmConnector::{check}" in run.stdout), run.stdout[-3000:]
    assert said in run.stdout, run.stdout[-3000:]


@pytest.mark.parametrize(("name", "said"), [
    ("Acme", "is not valid"),
    ("9lives", "is not valid"),
    ("acme-crm", "is not valid"),
    ("class", "Python keyword"),
    ("sql", "already a connector type"),
])
def test_a_bad_name_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                   said: str) -> None:
    assert main(["new-connector", name, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert said in err and name in err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "onepane-acme"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["new-connector", "acme", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_missing_parent_directory_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-connector", "acme", "--dir", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()
