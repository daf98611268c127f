"""The guard's parts alone: breaker, bulkhead, coalescing, retries under a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

import pytest

from federation.config.models import BreakerSettings, GuardSettings
from federation.errors import CircuitOpen, QueryError, SourceError, SourceTimeout, SourceUnavailable
from federation.resilience import (
    BreakerState,
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    Coalescer,
    Deadline,
    SlotWaitTimeout,
)
from federation.resilience.guard import SourceGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state(b: CircuitBreaker) -> BreakerState:
    """Read through a call, so mypy does not narrow the property between assertions."""
    return b.state


def breaker(clock: Clock, **settings: float) -> CircuitBreaker:
    return CircuitBreaker("crm", BreakerSettings(**settings), clock)  # type: ignore[arg-type]


def test_breaker_needs_min_calls_before_opening() -> None:
    b = breaker(Clock())
    for _ in range(9):
        b.acquire()
        b.failure()
    assert state(b) is BreakerState.CLOSED
    b.acquire()
    b.failure()
    assert state(b) is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        b.acquire()


def test_breaker_opens_at_half_failures_over_the_window() -> None:
    b = breaker(Clock())
    for i in range(10):
        b.acquire()
        (b.failure if i % 2 else b.success)()
    assert state(b) is BreakerState.OPEN
    assert b.error_rate == 0.5


def test_breaker_stays_closed_below_the_rate() -> None:
    b = breaker(Clock())
    for i in range(40):
        b.acquire()
        (b.failure if i % 3 == 0 else b.success)()
    assert state(b) is BreakerState.CLOSED


def test_half_open_lets_one_probe_and_closes_on_success() -> None:
    clock = Clock()
    b = breaker(clock, min_calls=2, window=2)
    for _ in range(2):
        b.acquire()
        b.failure()
    clock.now = 29.9
    assert state(b) is BreakerState.OPEN
    clock.now = 30.0
    assert state(b) is BreakerState.HALF_OPEN
    b.acquire()  # the probe
    with pytest.raises(CircuitOpen):
        b.acquire()  # a second caller while the probe is out
    b.success()
    assert state(b) is BreakerState.CLOSED and b.error_rate == 0.0


def test_failed_probe_reopens_for_another_period() -> None:
    clock = Clock()
    b = breaker(clock, min_calls=2, window=2)
    for _ in range(2):
        b.acquire()
        b.failure()
    clock.now = 30.0
    b.acquire()
    b.failure()
    assert state(b) is BreakerState.OPEN
    clock.now = 59.0
    assert state(b) is BreakerState.OPEN
    clock.now = 60.0
    assert state(b) is BreakerState.HALF_OPEN


def test_released_probe_frees_the_slot() -> None:
    clock = Clock()
    b = breaker(clock, min_calls=1, window=1)
    b.acquire()
    b.failure()
    clock.now = 31.0
    b.acquire()
    b.release()
    b.acquire()  # the slot is free again


def test_bulkhead_fails_fast_when_full() -> None:
    bulkhead = Bulkhead("crm", 2)
    with bulkhead.slot(), bulkhead.slot():
        with pytest.raises(BulkheadFull) as caught, bulkhead.slot():
            pass
        assert caught.value.code == "SOURCE_UNAVAILABLE" and not caught.value.retryable
    with bulkhead.slot():
        assert bulkhead.active == 1


async def test_bulkhead_serves_waiters_first_come_first_served() -> None:
    bulkhead = Bulkhead("crm", 1)
    order: list[int] = []
    release = asyncio.Event()

    async def call(n: int) -> None:
        async with bulkhead.wait_slot(5):
            order.append(n)
            await release.wait()

    holder = asyncio.ensure_future(call(0))
    await asyncio.sleep(0)
    waiters = []
    for n in range(1, 6):
        waiters.append(asyncio.ensure_future(call(n)))
        await asyncio.sleep(0)
    assert bulkhead.waiting == 5
    with pytest.raises(BulkheadFull), bulkhead.slot():  # the non-waiting slot never jumps the queue
        pass
    release.set()
    await asyncio.gather(holder, *waiters)
    assert order == [0, 1, 2, 3, 4, 5]
    assert bulkhead.active == 0 and bulkhead.waiting == 0


async def test_bulkhead_survives_cancelled_waiters_and_a_slot_handed_to_one() -> None:
    bulkhead = Bulkhead("crm", 1)
    served: list[str] = []

    async def call(name: str) -> None:
        async with bulkhead.wait_slot(5):
            served.append(name)
            await asyncio.sleep(0.01)

    async with bulkhead.wait_slot(5):
        gone = asyncio.ensure_future(call("gone"))
        handed = asyncio.ensure_future(call("handed"))
        last = asyncio.ensure_future(call("last"))
        await asyncio.sleep(0)
        gone.cancel()  # cancelled while queued
    # Leaving the block handed the slot to "handed"; cancel it before it could run.
    handed.cancel()
    await asyncio.gather(gone, handed, return_exceptions=True)
    await last
    assert served == ["last"]
    assert bulkhead.active == 0 and bulkhead.waiting == 0


async def test_coalescer_shares_one_call_and_survives_a_cancelled_waiter() -> None:
    calls = 0

    async def call() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 7

    coalescer: Coalescer[int] = Coalescer()
    first = asyncio.ensure_future(coalescer.run("k", call))
    second = asyncio.ensure_future(coalescer.run("k", call))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == (7, True)
    assert calls == 1 and len(coalescer) == 0


async def test_a_call_run_inline_is_shared_with_joiners_and_so_is_its_failure() -> None:
    """`inline=True`: the first caller runs the call in its own task (no task of the guard's);
    callers of the same key meanwhile join it, its answer or its error, and a joiner giving up
    leaves the call running."""
    g = SourceGuard("crm", 1.0, GuardSettings(retries=0))
    gate = asyncio.Event()
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "ok"

    leader = asyncio.ensure_future(g.call(call, Deadline(5), "k", inline=True))
    await asyncio.sleep(0)
    quitter = asyncio.ensure_future(g.call(call, Deadline(5), "k", inline=True))
    joiner = asyncio.ensure_future(g.call(call, Deadline(5), "k"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    gate.set()
    first, joined = await leader, await joiner
    assert (first.value, first.joined, joined.value, joined.joined) == ("ok", False, "ok", True)
    assert calls == 1 and len(g._coalescer) == 0 and quitter.cancelled()

    async def refused() -> str:
        await asyncio.sleep(0.01)
        raise SourceUnavailable("crm", "refused")

    both = await asyncio.gather(g.call(refused, Deadline(5), "r", inline=True),
                                g.call(refused, Deadline(5), "r", inline=True), return_exceptions=True)
    assert [type(e) for e in both] == [SourceUnavailable, SourceUnavailable]
    assert g.breaker.recent_calls == 2  # one verdict per call made: the success and the failure


def guard(retries: int = 2, timeout: float = 1.0, **breaker_settings: float) -> SourceGuard:
    settings = GuardSettings(retries=retries, backoff=0.001, backoff_max=0.005,
                             breaker=BreakerSettings(**breaker_settings))  # type: ignore[arg-type]
    return SourceGuard("crm", timeout, settings)


class Flaky:
    """Fails `failures` times with `error`, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


async def test_retryable_errors_are_retried_up_to_three_attempts() -> None:
    flaky = Flaky(2, SourceUnavailable("crm", "HTTP 503"))
    outcome = await guard().call(flaky, Deadline(5))
    assert (outcome.value, outcome.attempts, flaky.calls) == ("ok", 3, 3)
    flaky = Flaky(3, SourceUnavailable("crm", "HTTP 503"))
    with pytest.raises(SourceUnavailable):
        await guard().call(flaky, Deadline(5))
    assert flaky.calls == 3


@pytest.mark.parametrize("error", [SourceError("crm", "HTTP 500 not JSON"), QueryError("bad"),
                                   CircuitOpen("crm", "open")])
async def test_other_errors_are_not_retried(error: Exception) -> None:
    flaky = Flaky(1, error)
    with pytest.raises(type(error)):
        await guard().call(flaky, Deadline(5))
    assert flaky.calls == 1


async def test_retry_after_is_honoured_but_capped_by_the_deadline() -> None:
    flaky = Flaky(1, SourceUnavailable("crm", "HTTP 429", retry_after=0.2))
    started = time.perf_counter()
    assert (await guard().call(flaky, Deadline(5))).value == "ok"
    assert 0.2 <= time.perf_counter() - started < 0.4
    flaky = Flaky(1, SourceUnavailable("crm", "HTTP 429", retry_after=30))
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable):
        await guard().call(flaky, Deadline(1))
    assert time.perf_counter() - started < 0.1 and flaky.calls == 1


async def test_a_timeout_is_not_retried() -> None:
    calls = 0

    async def hang() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)
        return "late"

    started = time.perf_counter()
    with pytest.raises(SourceTimeout):
        await guard(retries=5, timeout=0.1).call(hang, Deadline(5))
    assert time.perf_counter() - started < 0.15 and calls == 1


async def test_the_deadline_bounds_retries() -> None:
    flaky = Flaky(100, SourceUnavailable("crm", "HTTP 503", retry_after=0.1))
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable):
        await guard(retries=10).call(flaky, Deadline(0.35))
    assert time.perf_counter() - started < 0.4 and flaky.calls <= 4


async def test_client_errors_never_open_the_breaker() -> None:
    g = guard(retries=0, min_calls=2, window=2)
    for _ in range(10):
        with pytest.raises(QueryError):
            await g.call(Flaky(1, QueryError("bad argument")), Deadline(5))
    assert g.breaker.state is BreakerState.CLOSED and g.breaker.recent_calls == 0


async def test_open_breaker_fails_fast_without_calling() -> None:
    g = guard(retries=0, min_calls=2, window=2)
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            await g.call(Flaky(1, SourceUnavailable("crm", "refused")), Deadline(5))
    flaky = Flaky(0, SourceUnavailable("crm", "unused"))
    started = time.perf_counter()
    with pytest.raises(CircuitOpen):
        await g.call(flaky, Deadline(5))
    assert flaky.calls == 0 and time.perf_counter() - started < 0.05  # no wait, no backoff


async def test_unexpected_exceptions_become_masked_source_errors() -> None:
    with pytest.raises(SourceError, match="incident") as caught:
        await guard(retries=0).call(Flaky(1, KeyError("secret")), Deadline(5))
    assert "secret" not in str(caught.value)


async def test_busy_source_queues_the_next_call_instead_of_failing_it() -> None:
    g = SourceGuard("crm", 1.0, GuardSettings(max_concurrent=1, coalesce=False))
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "ok"

    first = asyncio.ensure_future(g.call(slow, Deadline(5)))
    second = asyncio.ensure_future(g.call(slow, Deadline(5)))
    await asyncio.sleep(0.01)
    assert g.bulkhead.active == 1 and g.bulkhead.waiting == 1
    gate.set()
    assert (await first).value == "ok" and (await second).value == "ok"
    assert g.bulkhead.active == 0 and g.bulkhead.waiting == 0
    assert g.breaker.recent_calls == 2 and g.breaker.error_rate == 0.0


async def test_a_wait_past_the_timeout_is_a_timeout_but_not_a_breaker_failure() -> None:
    g = SourceGuard("crm", 0.1, GuardSettings(max_concurrent=1, coalesce=False, retries=2))
    hung = asyncio.Event()

    async def hang() -> str:
        await hung.wait()
        return "never"

    started = time.perf_counter()
    first = asyncio.ensure_future(g.call(hang, Deadline(5)))
    await asyncio.sleep(0)
    with pytest.raises(SlotWaitTimeout) as caught:
        await g.call(hang, Deadline(5))
    assert caught.value.code == "SOURCE_TIMEOUT"
    with pytest.raises(SourceTimeout):
        await first
    assert time.perf_counter() - started < 0.25  # each answered within the source's timeout
    assert g.breaker.recent_calls == 1  # only the call that ran was judged
    assert g.bulkhead.active == 0 and g.bulkhead.waiting == 0


async def test_the_breaker_judges_calls_after_their_retries() -> None:
    g = guard(retries=2, min_calls=4, window=4)
    for _ in range(6):
        assert (await g.call(Flaky(2, SourceUnavailable("crm", "HTTP 503")), Deadline(5))).attempts == 3
    assert state(g.breaker) is BreakerState.CLOSED and g.breaker.error_rate == 0.0
    for _ in range(2):  # two failed calls of the last four: 50%
        with pytest.raises(SourceUnavailable):
            await g.call(Flaky(3, SourceUnavailable("crm", "HTTP 503")), Deadline(5))
    assert state(g.breaker) is BreakerState.OPEN


@pytest.mark.parametrize("inline", [False, True])
@pytest.mark.parametrize("failures", [1, 3])  # retried then answered; retried until it gave up
async def test_a_retried_call_leaves_no_reference_cycles(inline: bool, failures: int) -> None:
    """A failed attempt's traceback holds the guard's frames, which hold tenacity's retry state and
    the coalescing future, which hold the failure: kept, they are a cycle that holds the caller's
    request until the cyclic collector runs (a worker's memory grew so under load)."""
    g = guard(retries=3)
    gc.collect()
    gc.disable()
    try:
        for n in range(3):
            flaky = Flaky(failures, SourceUnavailable("crm", "HTTP 503"))
            with contextlib.suppress(SourceUnavailable):  # failures > retries: it gives up
                await g.call(flaky, Deadline(5), f"key {n}", inline=inline)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("federation.")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []
