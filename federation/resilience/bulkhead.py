"""A bulkhead per source: at most N calls in flight; the next ones queue, first come first served.

A healthy source that is merely busy must never turn into an error, so a call that finds every
slot taken waits for one, bounded by the time its caller gives it (the source's timeout, or the
request's deadline when that comes sooner). A sick source cannot pile up waiters for longer than
that: each waiter gives up at its own bound with `SlotWaitTimeout`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

from federation.errors import SOURCE_TIMEOUT, SourceTimeout, SourceUnavailable

__all__ = ["Bulkhead", "BulkheadFull", "SlotWaitTimeout"]


class BulkheadFull(SourceUnavailable):
    """Too many calls to the source are in flight; not retried (retrying would add load)."""

    retryable = False


class SlotWaitTimeout(BulkheadFull, SourceTimeout):
    """No slot came free within the caller's bound: answered `SOURCE_TIMEOUT`, no breaker verdict.

    A `BulkheadFull`, so everything that already keeps a full bulkhead out of the breaker and the
    retries keeps this out too (no call was made).
    """

    code = SOURCE_TIMEOUT
    retryable = False


class Bulkhead:
    """`limit` slots and a FIFO queue of waiters; a freed slot goes straight to the oldest waiter."""

    def __init__(self, source: str, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Calls queued for a slot right now (cancelled ones leave at once)."""
        return sum(1 for w in self._waiters if not w.done())

    @contextmanager
    def slot(self) -> Iterator[None]:
        """A slot now or `BulkheadFull`: never waits, and never jumps the queue of those who do."""
        if self.active >= self.limit or self.waiting:
            raise BulkheadFull(self.source, "too many concurrent calls")
        self.active += 1
        try:
            yield
        finally:
            self.release()

    def take(self) -> bool:
        """A slot now if one is free and no one waits for one (never jumps the queue); pair with
        `release`. The guard's common case: no coroutine, no context manager, no future."""
        if self.active < self.limit and (not self._waiters or not self.waiting):
            self.active += 1
            return True
        return False

    @asynccontextmanager
    async def wait_slot(self, timeout: float) -> AsyncIterator[float]:
        """A slot within `timeout` seconds, else `SlotWaitTimeout`; yields the seconds waited."""
        waited = await self.acquire(timeout)
        try:
            yield waited
        finally:
            self.release()

    async def acquire(self, timeout: float | None) -> float:
        """A slot within `timeout` seconds (None: however long it takes; first come, first
        served), else `SlotWaitTimeout`; the seconds waited. Pair with `release`."""
        if self.take():
            return 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(None if timeout is None else max(timeout, 0.0)):
                await waiter
        except TimeoutError:
            # The slot may have been handed over in the same tick the timer fired: keep it then.
            if not (waiter.done() and not waiter.cancelled()):
                raise SlotWaitTimeout(self.source, f"busy: no free slot within {timeout or 0:.2g} s") from None
        except BaseException:
            # Cancelled (the caller gave up): a slot already handed to us goes to the next waiter.
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise
        finally:
            self._forget(waiter)
        return loop.time() - started

    def release(self) -> None:
        """Hand the slot to the oldest live waiter (it stays counted as active), or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.active -= 1

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with suppress(ValueError):  # already popped by `release`
            self._waiters.remove(waiter)
