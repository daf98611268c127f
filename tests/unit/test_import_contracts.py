"""The import contracts in pyproject.toml hold: `lint-imports` runs here as it does in .ci/run,
so the README's one test command enforces them too (docs/architecture.md, "Layers")."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), "lint-imports is missing: pip install -e '.[dev]' (import-linter)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_contract_hides_an_import() -> None:
    """A circle is broken by moving code, never kept by ignoring the import that closes it."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert [c["id"] for c in contracts if c.get("ignore_imports")] == []


def test_an_import_against_the_layers_breaks_the_run(tmp_path: Path) -> None:
    """The same command fails, naming the import, when a lower layer imports a higher one."""
    package = tmp_path / "toylayers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text("from toylayers import engine\n")
    (package / "engine.py").write_text("def lazy():\n    from toylayers import api  # hidden in a function\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = toylayers\n\n"
        "[importlinter:contract:layers]\nname = api above engine\ntype = layers\n"
        "layers =\n    toylayers.api\n    toylayers.engine\n")
    done = lint_imports(tmp_path, ".importlinter")
    assert done.returncode != 0
    assert "toylayers.engine -> toylayers.api" in done.stdout
