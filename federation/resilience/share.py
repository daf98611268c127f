"""Fair share: one request may hold at most a share of a source's concurrency.

Aliases and list fan-out make one request issue many calls to one source at once; without a
limit, 30 aliases take all of a source's `max_concurrent` slots and every other caller is refused
(or, with a queue, waits behind them). Per request and per source, at most
`max(1, floor(max_concurrent * request_share))` calls are in flight; the request's further calls
wait for its own earlier ones, so the rest of the bulkhead stays free for other callers. This
sits in front of the shared bulkhead and does not change it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

__all__ = ["RequestShare", "share_of"]


def share_of(max_concurrent: int, share: float) -> int:
    """How many calls one request may have in flight to a source (at least one)."""
    return max(1, int(max_concurrent * share))


class RequestShare:
    """One per request: a semaphore per source, sized by that source's share; made on first use."""

    __slots__ = ("_limits", "_slots")

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = limits
        self._slots: dict[str, asyncio.Semaphore] = {}

    def slot(self, source: str) -> asyncio.Semaphore:
        found = self._slots.get(source)
        if found is None:
            found = self._slots[source] = asyncio.Semaphore(self._limits.get(source, 1))
        return found
