"""SQLite calls a caller may stop waiting for, never cancelled inside aiosqlite.

aiosqlite runs each connection's calls in a thread of its own. A cancellation (the source's
timeout, the statement timeout, a client gone) that landed inside one while SQLite waited on a
locked file made SQLAlchemy invalidate the connection and start a graceful close that a second
cancellation left pending for ever: a task the event loop's teardown waited on (seen in CI with
the source timeout equal to SQLite's busy timeout). So each SQLite call runs in a task that is
never cancelled. The caller stops waiting at its limit or when it is cancelled (and gets
TimeoutError or CancelledError at once), the statement running is interrupted (sqlite3's
`interrupt`, safe from another thread), and the connection goes back to the pool when SQLite
answers, at the latest after its busy timeout. `drain` waits for those before the engine is
disposed, so closing leaves no connection, thread or task behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Call", "SqliteCalls"]

T = TypeVar("T")
log = logging.getLogger("connectors.sql")


class Call:
    """One call's connection, once it has one (None while still connecting)."""

    __slots__ = ("conn",)

    def __init__(self) -> None:
        self.conn: AsyncConnection | None = None


class SqliteCalls:
    """The SQLite calls of one engine, each in a task no caller cancels."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    async def run(self, engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]], limit: float,
                  call: Call) -> T:
        """`work` on a pooled connection; TimeoutError after `limit` seconds (the call goes on, interrupted)."""

        async def use() -> T:
            async with engine.connect() as conn:
                call.conn = conn
                return await work(conn)

        task = asyncio.ensure_future(use())
        self._running.add(task)
        task.add_done_callback(self._finished)
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
        except asyncio.CancelledError:
            _interrupt(call)
            raise
        if not done:
            _interrupt(call)
            raise TimeoutError(f"no answer within {limit:g} s")
        return task.result()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # the caller may have gone: its error is not "never retrieved"

    async def drain(self, limit: float) -> None:
        """Wait (at most `limit` seconds) for the calls still running to give their connections back."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=limit)


def _interrupt(call: Call) -> None:
    """Stop the statement `call` is running (its thread raises "interrupted" and returns)."""
    if call.conn is None:
        return  # still connecting: the connection comes back to the pool once opened
    try:
        driver: Any = call.conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
        driver._conn.interrupt()  # aiosqlite's sqlite3 connection: interrupt() is thread-safe
    except Exception as exc:  # already closed or given back: nothing left to stop
        log.debug("no statement to interrupt: %s", exc)
