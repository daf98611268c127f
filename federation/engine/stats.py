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
    stale: int = 0
    attempts: int = 0
    coalesced: int = 0
    seen: set[tuple[str, str, str]] = field(default_factory=set)  # uids of the records it sent
    errors: list[SourceError] = field(default_factory=list)
    covered: list[SourceError] = field(default_factory=list)  # failures answered from stale cache

    @property
    def records(self) -> int:
        """How many distinct records (entity, source, local id) the source sent in this request,
        not the sum over its calls: which lookups meet in one call depends on when other sources
        answered (federation/engine/loader.py), and a record two calls both return would otherwise
        count once or twice from run to run for the same question (seen 50 vs 51)."""
        return len(self.seen)

    def as_json(self, breaker: str = "closed") -> dict[str, Any]:
        """`error` is the first failure, also one that stale records covered (`ok` stays true)."""
        shown = self.errors[0] if self.errors else (self.covered[0] if self.covered else None)
        return {
            "calls": self.calls,
            "attempts": self.attempts,
            "coalesced": self.coalesced,
            "ms": round(self.milliseconds, 1),
            "cacheHits": self.cache_hits,
            "stale": self.stale,
            "records": self.records,
            "ok": not self.errors,
            "error": None if shown is None else {"code": shown.code, "message": str(shown)},
            "breaker": breaker,
        }
