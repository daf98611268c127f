"""A circuit breaker per source: closed → open on a failure rate → half-open probes → closed.

Only outcomes that say something about the source count: a success or a source failure.
Errors that are the client's fault (`QueryError`) are not recorded at all.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable

from federation.config.models import BreakerSettings
from federation.errors import CircuitOpen

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts the last `window` outcomes; refuses calls while open; lets `probes` through half-open."""

    def __init__(self, source: str, settings: BreakerSettings,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.settings = settings
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=settings.window)  # True = failure
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probing = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.settings.open_seconds:
            self._state, self._probing = BreakerState.HALF_OPEN, 0
        return self._state

    @property
    def error_rate(self) -> float:
        """Failures among the recent outcomes, 0.0 when there are none."""
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else 0.0

    @property
    def recent_calls(self) -> int:
        return len(self._outcomes)

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through."""
        return max(0.0, self._opened_at + self.settings.open_seconds - self._clock())

    def acquire(self) -> None:
        """Permit one call or raise `CircuitOpen` at once; pair with `success`/`failure`/`release`."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and self._probing < self.settings.probes:
            self._probing += 1
            return
        raise CircuitOpen(self.source, f"circuit open after repeated failures; retry in {self.retry_in():.0f} s")

    def success(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._state, self._probing = BreakerState.CLOSED, 0
            self._outcomes.clear()
        self._outcomes.append(False)

    def failure(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._trip()
            return
        self._outcomes.append(True)
        if self._state is BreakerState.CLOSED and self._should_trip():
            self._trip()

    def release(self) -> None:
        """The call ended with no verdict on the source (the client's fault, or cancelled)."""
        if self._state is BreakerState.HALF_OPEN and self._probing:
            self._probing -= 1

    def _should_trip(self) -> bool:
        calls = len(self._outcomes)
        return calls >= self.settings.min_calls and sum(self._outcomes) / calls >= self.settings.failure_rate

    def _trip(self) -> None:
        self._state, self._opened_at, self._probing = BreakerState.OPEN, self._clock(), 0
