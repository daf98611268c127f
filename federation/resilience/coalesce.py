"""Request coalescing: concurrent identical calls, from any request, share one call in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from federation.errors import OnepaneError, without_tracebacks

__all__ = ["Coalescer"]

T = TypeVar("T")


class Coalescer(Generic[T]):
    """The first caller of a key starts the call; later callers await its answer until it ends.

    Each joiner waits through `asyncio.shield`, so one caller giving up (its deadline, a client
    disconnect) does not cancel the call for the others. The first caller either hands the call
    to a task of its own (`run`: the caller may be cancelled, a resolver graphql-core gives up on)
    or runs it in its own task (`lead` and `settle`: a task of the engine's that nothing cancels
    but the call's own timeouts, so the call outlives no one it matters to and needs no task).
    """

    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The call's result, and whether this caller joined a call already in flight."""
        shared = self._inflight.get(key)
        joined = shared is not None
        if shared is None:
            task = shared = asyncio.ensure_future(call())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(shared), joined

    def lead(self, key: Hashable) -> asyncio.Future[T] | None:
        """A future the caller answers with `settle` after making the call itself, or None when
        the same call is already in flight (then `run` joins it)."""
        if key in self._inflight:
            return None
        future = self._inflight[key] = asyncio.get_running_loop().create_future()
        return future

    def settle(self, key: Hashable, future: asyncio.Future[T], outcome: T | BaseException) -> None:
        """The led call ended with `outcome` (its value, or what it raised): joiners get it."""
        if self._inflight.get(key) is future:
            del self._inflight[key]
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            if isinstance(outcome, OnepaneError):
                # The future keeps the traceback it is given, and the traceback the leader's frame,
                # which holds this future: a reference cycle holding the request's objects until the
                # cyclic collector runs. A source failure is answered by its message, never its frames.
                without_tracebacks(outcome)
            future.set_exception(outcome)
            future.exception()  # retrieved: the leader raised it; joiners may be none
        else:
            future.set_result(outcome)

    def _forget(self, key: Hashable, task: asyncio.Future[T]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure every waiter abandoned is not "never retrieved"
