"""A retry budget per source: retries may be at most a share of the calls, over a sliding window.

Retries help a source that fails now and then; against one that is failing, every retry is more
load on it. The budget (Finagle's, Envoy's and Grafbase's rule; see notes/reliability-anchors.md)
allows `ratio` retries per call plus `min_per_second`, counted over the last `window_seconds`
in one-second buckets, so a quiet source can still retry and a storm cannot multiply itself.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from federation.config.models import RetryBudgetSettings

__all__ = ["RetryBudget"]


class RetryBudget:
    """Shared by every request to one source: `called()` per call, `spend()` before each retry."""

    def __init__(self, settings: RetryBudgetSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._buckets: deque[list[int]] = deque()  # [second, calls, retries], oldest first
        self.refused = 0  # retries the budget did not allow, since start

    def called(self) -> None:
        self._bucket()[1] += 1

    def spend(self) -> bool:
        """True, and one retry counted, when the window's retries stay within the budget."""
        bucket = self._bucket()
        calls = sum(b[1] for b in self._buckets)
        retries = sum(b[2] for b in self._buckets)
        allowed = self.settings.ratio * calls + self.settings.min_per_second * self.settings.window_seconds
        if retries + 1 > allowed:
            self.refused += 1
            return False
        bucket[2] += 1
        return True

    def _bucket(self) -> list[int]:
        second = math.floor(self._clock())
        buckets = self._buckets
        while buckets and buckets[0][0] <= second - self.settings.window_seconds:
            buckets.popleft()
        if not buckets or buckets[-1][0] != second:
            buckets.append([second, 0, 0])
        return buckets[-1]
