"""A bulkhead per source: at most N calls in flight; the next one fails at once, never waits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from federation.errors import SourceUnavailable

__all__ = ["Bulkhead", "BulkheadFull"]


class BulkheadFull(SourceUnavailable):
    """Too many calls to the source are in flight; not retried (retrying would add load)."""

    retryable = False


class Bulkhead:
    """A counter, not a semaphore: there is no queue to wait in."""

    def __init__(self, source: str, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.active = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        if self.active >= self.limit:
            raise BulkheadFull(self.source, "too many concurrent calls")
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
