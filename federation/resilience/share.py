"""Fair share: one request may hold at most a share of a source's concurrency.

Aliases and list fan-out make one request issue many calls to one source at once; without a
limit, 30 aliases take all of a source's `max_concurrent` slots and every other caller is refused
(or, with a queue, waits behind them). Per request and per source, at most
`max(1, floor(max_concurrent * request_share))` calls are in flight; the request's further calls
wait for its own earlier ones, so the rest of the bulkhead stays free for other callers. This
sits in front of the shared bulkhead and does not change it.
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.resilience.bulkhead import Bulkhead

__all__ = ["RequestShare", "share_of"]


def share_of(max_concurrent: int, share: float) -> int:
    """How many calls one request may have in flight to a source (at least one)."""
    return max(1, int(max_concurrent * share))


class RequestShare:
    """One per request: a slot queue per source (a `Bulkhead`: first come, first served, and
    a caller cancelled while queued hands on a slot it was given), sized by that source's share;
    made on first use. Its callers wait without a bound of their own: every call holding a slot
    ends by the request's deadline."""

    __slots__ = ("_limits", "_slots")

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._limits = limits
        self._slots: dict[str, Bulkhead] = {}

    def slot(self, source: str) -> Bulkhead:
        """The request's slots of `source`: `take()` or `await acquire(None)`, then `release()`."""
        found = self._slots.get(source)
        if found is None:
            found = self._slots[source] = Bulkhead(source, self._limits.get(source, 1))
        return found
