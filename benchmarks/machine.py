"""What every benchmark prints about where it ran: CPU, cores, platform, versions, commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = ["cpu_model", "git_commit", "machine_line", "versions"]


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
