"""What every benchmark prints about where it ran: CPU, cores, platform, versions, commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["alternate_trees", "cpu_model", "git_commit", "machine_line", "versions"]


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def machine_line() -> str:
    return f"- Machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.platform()}"


def versions(packages: Iterable[str]) -> str:
    """`Python 3.11.7 (CPython); aiohttp 3.14.5, …` for the installed packages named."""
    listed = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    return f"Python {platform.python_version()} ({platform.python_implementation()}); {listed}"


def git_commit() -> str:
    """`git describe --always --dirty` of this checkout, or "unknown"."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def alternate_trees(trees: Sequence[str], rounds: int, command: Sequence[str], unit: str,
                    digits: int = 2) -> list[str]:
    """An A/B of two source trees: `command` (a script that prints its figure last) run under each
    tree's PYTHONPATH in turn, `rounds` times, alternately so the machine's drift hits both; the
    lines report each tree's median of the round figures and the ratio new/old."""
    figures: dict[str, list[float]] = {t: [] for t in trees}
    for _ in range(rounds):
        for tree in trees:
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run([sys.executable, *command], env=env, check=True, capture_output=True,
                                 text=True).stdout
            figures[tree].append(float(out.split()[-1]))
    lines = []
    for tree in trees:
        lines.append(f"{tree}: median of round medians {statistics.median(figures[tree]):.{digits}f} {unit} "
                     f"(rounds: {', '.join(f'{m:.{digits}f}' for m in figures[tree])})")
    base, new = (statistics.median(figures[t]) for t in trees)
    lines.append(f"ratio new/old: {new / base:.3f}")
    return lines
