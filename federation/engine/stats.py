"""Per-request, per-source accounting: what `extensions.sources` reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federation.errors import SourceError

__all__ = ["SourceStats"]


@dataclass(slots=True)
class SourceStats:
    calls: int = 0
    milliseconds: float = 0.0
    cache_hits: int = 0
    records: int = 0
    errors: list[SourceError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        error = self.errors[0] if self.errors else None
        return {
            "calls": self.calls,
            "ms": round(self.milliseconds, 1),
            "cacheHits": self.cache_hits,
            "records": self.records,
            "ok": error is None,
            "error": None if error is None else {"code": error.code, "message": str(error)},
        }
