"""Compact tool results: the data without empty values, which sources answered, and what is missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from federation.errors import SOURCE_ERROR

__all__ = ["compact", "source_report", "summarize_errors"]

MAX_ERRORS = 5


def compact(value: Any) -> Any:
    """Drop nulls, false, empty lists and empty objects: an agent pays for every token it reads."""
    if isinstance(value, Mapping):
        out = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v is not False and v != [] and v != {}}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def source_report(sources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """`extensions.sources` folded to answered, stale (served from cache), failed (with the error)."""
    answered: list[str] = []
    stale: list[str] = []
    failed: dict[str, str] = {}
    for name, stats in sources.items():
        error = stats.get("error") or {}
        if not stats.get("ok", True):
            failed[name] = f"{error.get('code', SOURCE_ERROR)}: {error.get('message', 'failed')}"
        elif stats.get("calls") or stats.get("cacheHits"):
            (stale if stats.get("stale") else answered).append(name)
    report: dict[str, Any] = compact({"answered": answered, "stale": stale, "failed": failed})
    return report


def summarize_errors(errors: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The first few errors as {code, message, path, source}, and one line per missing piece."""
    summary: list[dict[str, Any]] = []
    missing: list[str] = []
    for error in errors:
        extensions = error.get("extensions") or {}
        code, source = extensions.get("code"), extensions.get("source")
        path = ".".join(str(p) for p in error.get("path") or ())
        if extensions.get("kept"):  # a value served as its source wrote it: nothing is missing
            line = ""
        elif source:
            line = f"data from {source} ({code})" + (f" at {path}" if path else "")
        elif path:
            line = f"{path} ({code})"
        else:
            line = ""
        if line and line not in missing:
            missing.append(line)
        if len(summary) < MAX_ERRORS:
            summary.append(compact({"code": code, "message": error.get("message"), "path": path or None,
                                    "source": source, "kept": bool(extensions.get("kept"))}))
    return summary, missing
