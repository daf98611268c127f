"""Lookups on PostgreSQL sent straight to asyncpg, past SQLAlchemy's per-statement execution.

A lookup is the same few statements over and over with other values. Through SQLAlchemy each one
paid ~290 µs of CPU on the benchmark machine (pool checkout through the async wrapper, the
compiled-cache look-up, expanding the IN lists, the execution context, the result object), where
asyncpg itself needs ~60 µs (`benchmarks/execution.py`, docs/benchmarks.md "Per-request cost").
Here SQLAlchemy still builds and compiles every statement and owns the pool (its connect events
set read-only and the statement timeout, its invalidation replaces lost connections); what is
skipped is done once per statement shape: the SQL text with its IN lists expanded, kept per
(statement, list lengths), then `asyncpg.Connection.fetch`, whose own cache keeps it prepared.
Rows come back as asyncpg's own records, read by column name like a mapping (no dict built per
row), once a statement's first rows showed asyncpg names the columns as SQLAlchemy does (else
one dict a row, keyed by those names).

A connection a lookup used is kept checked out for the next lookup (up to `keep` of them, the
pool's base size; the pool's 10 burst connections stay for SQLAlchemy's own statements): a
checkout and a check-in through SQLAlchemy's pool cost ~30 µs of CPU a statement, half of them
two greenlet switches (its pool may await a new connection). A kept connection is what the pool
would have handed out next (same session settings, no transaction open), is not reused once the
server closed it, and after any invalidation of the pool's connections (a lost one, SQLAlchemy's
disconnect handling) goes back to the pool, which recycles it as it would its own.

While anything listens to SQLAlchemy's statement events, lookups go through SQLAlchemy as before.
Errors leave as SQLAlchemy's would (`DBAPIError` over the dialect's DBAPI error), so
`errors.translate` words them the same; a connection that saw anything but a query-level
PostgreSQL error (a lost connection, a cancelled statement) is invalidated, never reused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

__all__ = ["DirectPostgres", "Fetch"]

T = TypeVar("T")
# Rows read by column name: `row[name]` (asyncpg's records, or dicts).
Fetch = Callable[[sa.Select[Any], Mapping[str, Sequence[Any]]], Awaitable[Sequence[Any]]]

_MAX_SHAPES = 2000  # (statement, IN-list lengths) kept; past it the cache starts again


class _Shape:
    """One statement with given IN-list lengths: its SQL text and where each `$n` comes from."""

    __slots__ = ("named", "names", "processed", "processors", "slots", "sql", "statement", "tupled")

    def __init__(self, statement: sa.Select[Any], sql: str, slots: list[tuple[str, int | None]],
                 processors: Sequence[Callable[[Any], Any] | None], names: list[str],
                 tupled: frozenset[str]) -> None:
        self.statement = statement  # held so the id() it is kept under stays this statement's
        self.sql = sql
        self.slots = slots
        self.processors = processors
        self.processed = any(p is not None for p in processors)
        self.tupled = tupled
        self.names = names
        # Whether asyncpg's records name the columns as `names` does (None: no rows seen yet).
        self.named: bool | None = None


class DirectPostgres:
    """Sends lookups of one asyncpg engine without SQLAlchemy's execution layer."""

    def __init__(self, engine: AsyncEngine, keep: int = 1) -> None:
        self._engine = engine
        self._dialect = engine.dialect
        self._shapes: dict[tuple[int, tuple[int, ...]], _Shape] = {}
        self.sent = 0  # statements sent (benchmarks/execution.py counts them)
        # Connections kept checked out between lookups, last used first, each with the
        # invalidation generation it was checked out in (see the module's docstring).
        self._idle: list[tuple[PoolProxiedConnection, int]] = []
        self._keep = keep
        self._waiting = 0  # lookups waiting for a connection of the pool
        self._generation = 0
        event.listen(engine.sync_engine, "invalidate", self._invalidated)
        event.listen(engine.sync_engine, "soft_invalidate", self._invalidated)
        import asyncpg  # present: the engine's dialect is asyncpg's

        self._query_error: type[BaseException] = asyncpg.PostgresError
        self._connection_error: type[BaseException] = asyncpg.PostgresConnectionError

    @staticmethod
    def serves(engine: AsyncEngine) -> bool:
        return engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"

    def observed(self) -> bool:
        """Whether anything listens to SQLAlchemy's statement events (a tracer, a test counting
        statements): those lookups go through SQLAlchemy's execution, so every listener sees them."""
        dispatch = self._engine.sync_engine.dispatch
        return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)

    def _invalidated(self, *_: object) -> None:
        self._generation += 1  # every kept connection predates it: back to the pool (checkout)

    async def checkout(self) -> PoolProxiedConnection:
        """A kept connection, else one of the engine's pool (its connect events ran on it when it
        was opened)."""
        while self._idle:
            fairy, generation = self._idle.pop()
            driver = fairy.driver_connection
            if driver is None or driver.is_closed():  # the server ended it while it was kept
                await greenlet_spawn(fairy.invalidate)
            elif generation == self._generation:
                return fairy
            await greenlet_spawn(fairy.close)  # the pool recycles it if it must, as its own
        self._waiting += 1  # while it waits, connections that end their lookup go back to the pool
        try:
            return await greenlet_spawn(self._engine.sync_engine.pool.connect)
        finally:
            self._waiting -= 1

    async def close(self) -> None:
        """Every kept connection back to the pool (before the engine is disposed)."""
        while self._idle:
            fairy, _ = self._idle.pop()
            await greenlet_spawn(fairy.close)

    async def run(self, fairy: PoolProxiedConnection, work: Callable[[Fetch], Awaitable[T]]) -> T:
        """`work` with a fetch function bound to `fairy`, which is kept for the next lookup or
        goes back to the pool after."""
        driver = fairy.driver_connection
        assert driver is not None
        generation = self._generation
        lost = False
        try:
            async def fetch(statement: sa.Select[Any], params: Mapping[str, Sequence[Any]]) -> Sequence[Any]:
                shape = self._shape(statement, params)
                if shape.tupled:  # a tuple IN list: each tuple's values, in order, as the SQL has them
                    params = {n: [x for t in v for x in t] if n in shape.tupled else v for n, v in params.items()}
                args = [params[name] if index is None else params[name][index] for name, index in shape.slots]
                if shape.processed:
                    args = [v if p is None else p(v) for v, p in zip(args, shape.processors, strict=True)]
                self.sent += 1
                records: list[Any] = await driver.fetch(shape.sql, *args)
                if shape.named is None and records:
                    shape.named = tuple(records[0].keys()) == tuple(shape.names)
                if shape.named or not records:
                    return records
                names = shape.names
                return [dict(zip(names, record, strict=True)) for record in records]

            return await work(fetch)
        except BaseException as exc:
            # A query-level error leaves the connection ready for the next statement; anything
            # else (lost, cancelled mid-statement, an error of the driver itself) may not have.
            # (The server ending the session is a query-level error on a connection now closed.)
            lost = (not isinstance(exc, self._query_error) or isinstance(exc, self._connection_error)
                    or driver.is_closed())
            if lost:
                await greenlet_spawn(fairy.invalidate, exc if isinstance(exc, Exception) else None)
            wrapped = self._wrapped(exc, lost) if isinstance(exc, Exception) else None
            if wrapped is not None:
                raise wrapped from exc
            raise
        finally:
            # Kept only while no lookup waits in the pool: a waiter there sees only what the pool
            # gets back, and kept connections starved it past the statement timeout under load
            # (50 clients, pool_size 5: SOURCE_TIMEOUT in 10 of ~55,000 answers).
            if (not lost and not self._waiting and generation == self._generation
                    and len(self._idle) < self._keep and not driver.is_closed()):
                self._idle.append((fairy, generation))
            else:
                await greenlet_spawn(fairy.close)

    def _shape(self, statement: sa.Select[Any], params: Mapping[str, Sequence[Any]]) -> _Shape:
        key = (id(statement), tuple(len(v) if isinstance(v, list | tuple) else -1 for v in params.values()))
        shape = self._shapes.get(key)
        if shape is not None and shape.statement is statement:
            return shape
        compiled = statement.compile(dialect=self._dialect)
        expanded = compiled.construct_expanded_state(dict(params))
        assert expanded.positiontup is not None, "asyncpg's dialect compiles positional parameters"
        # `v0` expands to `v0_1`, `v0_2`, … (tuples: `v0_1_1`, `v0_1_2`, …, row by row): the i-th name
        # is the i-th value of v0, tuples flattened.
        origin = {name: (parent, i) for parent, names in expanded.parameter_expansion.items()
                  for i, name in enumerate(names)}
        slots: list[tuple[str, int | None]] = [origin.get(name, (name, None)) for name in expanded.positiontup]
        processors: list[Callable[[Any], Any] | None] = [expanded.processors.get(n) for n in expanded.positiontup]
        names = list(statement.selected_columns.keys())
        tupled = frozenset(n for n, v in params.items() if isinstance(v, list | tuple) and v
                           and isinstance(v[0], tuple))
        shape = _Shape(statement, expanded.statement, slots, processors, names, tupled)
        if len(self._shapes) >= _MAX_SHAPES:
            self._shapes.clear()
        self._shapes[key] = shape
        return shape

    def _wrapped(self, exc: Exception, lost: bool) -> sa_exc.DBAPIError | None:
        """The error SQLAlchemy's execution would have raised for a driver's error (its DBAPI
        error, wrapped); None for any other (an OSError, a timeout), which stays as raised."""
        dbapi = self._dialect.loaded_dbapi
        translate = getattr(dbapi, "_asyncpg_error_translate", {})
        kind = next((k for k in type(exc).__mro__ if k in translate), None)
        if kind is None:
            return None
        orig = translate[kind](exc.args[0] if exc.args else str(exc), exc)
        wrapped: sa_exc.DBAPIError = sa_exc.DBAPIError.instance(
            None, None, orig, dbapi.Error, hide_parameters=True, connection_invalidated=lost, dialect=self._dialect)
        return wrapped
