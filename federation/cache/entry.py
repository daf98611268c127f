"""What the cache holds: the records one lookup value returned, and when they were fetched."""

from __future__ import annotations

import time
from dataclasses import dataclass

from federation.records import Record

__all__ = ["CacheKey", "Entry"]

CacheKey = tuple[str, str, str, str]  # (source, entity, by, value)


@dataclass(frozen=True, slots=True)
class Entry:
    """`stored_at` is wall-clock time, so gateway processes sharing Redis agree on ages."""

    records: tuple[Record, ...]
    stored_at: float

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.stored_at)
