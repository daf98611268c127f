"""Token bucket per principal, in process.

Written here rather than with the `limits` package: `limits` offers fixed and moving windows,
not a token bucket with a burst, and the Retry-After we answer comes straight from the bucket.
"""

from __future__ import annotations

import time
from collections import OrderedDict

__all__ = ["TokenBuckets"]


class TokenBuckets:
    """`rate` tokens per second up to `burst`; remembers at most `max_principals` buckets."""

    def __init__(self, rate: float, burst: int, max_principals: int = 100_000) -> None:
        self.rate, self.burst, self.max_principals = rate, burst, max_principals
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, principal: str, now: float | None = None) -> float:
        """0 when a token was taken, else the seconds until one will be available."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(principal, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[principal] = (tokens, now)
        if len(self._buckets) > self.max_principals:
            self._buckets.popitem(last=False)
        return wait
