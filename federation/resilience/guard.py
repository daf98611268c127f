"""One source's guard: coalescing → breaker → retries → bulkhead and timeout per attempt.

A call that succeeds at once costs one coroutine per layer that has work to do and one timer
(the attempt's): no task, shield or tenacity state unless it is shared or retried.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from federation.config.models import GuardSettings
from federation.errors import OnepaneError, QueryError, SourceError, SourceTimeout, without_tracebacks
from federation.errors_log import log_incident
from federation.resilience.breaker import CircuitBreaker
from federation.resilience.budget import RetryBudget
from federation.resilience.bulkhead import Bulkhead, BulkheadFull, SlotWaitTimeout
from federation.resilience.coalesce import Coalescer
from federation.resilience.deadline import Deadline
from federation.resilience.retry import retrying

__all__ = ["DeadlinePassed", "Outcome", "SourceGuard"]

log = logging.getLogger("federation.guard")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A guarded call's value, how many attempts it took, and whether it joined another's call."""

    value: T
    attempts: int
    joined: bool = False


class SourceGuard:
    """Shared by every request of a gateway: the breaker and the bulkhead see all traffic."""

    def __init__(self, source: str, timeout: float, settings: GuardSettings) -> None:
        self.source = source
        self.timeout = timeout
        self.settings = settings
        self.breaker = CircuitBreaker(source, settings.breaker)
        self.bulkhead = Bulkhead(source, settings.max_concurrent)
        self.budget = RetryBudget(settings.retry_budget) if settings.retry_budget is not None else None
        self._coalescer: Coalescer[Outcome[object]] = Coalescer()

    async def call(self, factory: Callable[[], Awaitable[T]], deadline: Deadline,
                   key: Hashable | None = None, *, inline: bool = False) -> Outcome[T]:
        """Run `factory()` under the guard; identical `key`s in flight share one call.

        `inline`: the caller runs in a task of the engine's own that nothing cancels but this
        call's own timeouts (a batch loader's), so a call it starts runs right there, with no
        task, shield or deadline timer of its own: every wait in it (a bulkhead slot, the
        attempt, a retry's backoff) already ends by the deadline. Other callers of the same key
        join it as they join any call.
        """
        if key is None or not self.settings.coalesce:
            return await self._retried(factory, deadline)
        if inline:
            led = self._coalescer.lead(key)
            if led is not None:
                try:
                    outcome = await self._retried(factory, deadline)
                except BaseException as exc:
                    self._coalescer.settle(key, led, exc)
                    raise
                self._coalescer.settle(key, led, outcome)  # type: ignore[arg-type]
                return outcome
        try:
            async with asyncio.timeout(deadline.remaining):
                shared, joined = await self._coalescer.run(key, lambda: self._retried(factory, deadline))
        except TimeoutError as exc:
            if isinstance(exc, SourceError):
                raise
            raise DeadlinePassed(self.source, "no answer within the request deadline") from None
        return Outcome(shared.value, shared.attempts, joined)  # type: ignore[arg-type]

    async def _retried(self, factory: Callable[[], Awaitable[T]], deadline: Deadline) -> Outcome[T]:
        """One call, as the breaker sees it: its verdict comes after the retries, not per attempt.

        The first attempt runs bare; only a failure enters tenacity's loop (building the retry
        state costs more than a fast source's whole answer), which counts it as attempt one and
        decides waits and stops exactly as if it had run it.
        """
        self.breaker.acquire()
        verdict = self.breaker.release
        tally = [1]
        if self.budget is not None:
            self.budget.called()
        try:
            try:
                value = await self._attempt(factory, deadline)
            except SourceError as first:
                if not first.retryable:  # the type decides, as in the retry policy
                    raise
                value = await self._retry_after_first(factory, deadline, first, tally)
            verdict = self.breaker.success
            return Outcome(value, tally[0])
        except (QueryError, BulkheadFull, DeadlinePassed):
            raise
        except SourceError as exc:
            verdict = self.breaker.failure
            exc.attempts = tally[0]  # type: ignore[attr-defined]  # for extensions.sources
            if tally[0] > 1:  # as in `_retry_after_first`: the retry state holds this failure too
                without_tracebacks(exc)
            raise
        finally:
            verdict()

    async def _retry_after_first(self, factory: Callable[[], Awaitable[T]], deadline: Deadline,
                                 first: SourceError, tally: list[int]) -> T:
        """Attempts two and on, under the retry policy; `tally[0]` counts every attempt made."""
        replayed = False
        policy = retrying(self.settings, deadline, self.budget)
        try:
            async for attempt in policy:
                with attempt:
                    if not replayed:  # tenacity's attempt one is the one already made
                        replayed = True
                        raise first
                    tally[0] += 1
                    value = await self._attempt(factory, deadline)
        finally:
            # No reference cycles left behind (tests/integration/test_request_garbage.py): the retry
            # state holds each attempt's failure, and their tracebacks this frame, which holds the
            # retry state; tenacity keeps an `async for`'s state on the policy, which the state points
            # back to, and its pending actions (the policy's own bound methods) in `iter_state`.
            # Dropped, the call's objects (its deadline among them) go with reference counting.
            without_tracebacks(first)
            policy.iter_state.reset()
            vars(policy).pop("_retry_state", None)
        return value

    async def _attempt(self, factory: Callable[[], Awaitable[T]], deadline: Deadline) -> T:
        """One try: a bulkhead slot, then the call, within the source's timeout or what is left of
        the deadline; who cut it short decides the error."""
        budget = deadline.cap(self.timeout)
        cut = budget < self.timeout
        if budget <= 0:
            raise DeadlinePassed(self.source, "no answer within the request deadline")
        bulkhead = self.bulkhead
        waited = 0.0
        if not bulkhead.take():
            # Waiting for a slot and the call share one attempt's time, so a request never waits
            # longer for a busy source than it would for a slow one.
            try:
                waited = await bulkhead.acquire(budget)
            except SlotWaitTimeout:
                if cut:
                    raise DeadlinePassed(self.source, "no answer within the request deadline") from None
                raise
        try:
            async with asyncio.timeout(max(budget - waited, 0.0)):
                return await factory()
        except SourceError:
            raise
        except TimeoutError:
            if cut:
                raise DeadlinePassed(self.source, "no answer within the request deadline") from None
            if waited > 0:
                # The source had less than its whole timeout: no verdict on it, as for a deadline.
                raise SlotWaitTimeout(self.source, f"busy: no answer within {self.timeout:g} s "
                                      f"(queued {waited:.2g} s for a slot)") from None
            raise SourceTimeout(self.source, f"no answer within {self.timeout:g} s") from None
        except OnepaneError:
            raise
        except Exception as exc:
            incident = uuid.uuid4().hex[:12]
            log_incident(log, f"{self.source}: connector raised unexpectedly", incident, exc)
            raise SourceError(self.source, f"internal connector error (incident {incident})") from None
        finally:
            bulkhead.release()


class DeadlinePassed(SourceTimeout):
    """The request's deadline, not the source, ended the call: no verdict on the source."""
