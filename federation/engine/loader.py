"""A per-request batch loader for one (source, entity, lookup): every value asked for in the
same event-loop tick goes to the source in one call.

Written here rather than using strawberry's DataLoader so the engine stays framework-free and
a failed batch can fail soft (an empty answer per value) while the failure is reported once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from federation.records import Record

__all__ = ["BatchLoader", "LookupGroup", "index_records"]

Fetch = Callable[[list[str]], Awaitable[Sequence[Record]]]


def index_records(records: Sequence[Record], by: str, values: Sequence[str]) -> dict[str, list[Record]]:
    """Group `records` under each requested value they match on `by`."""
    wanted = {v: [] for v in values}  # type: dict[str, list[Record]]
    kind, _, name = by.partition(":")
    for record in records:
        if kind == "id":
            hits: Sequence[str] = (record.local_id,)
        elif kind == "ref":
            ref = record.refs.get(name)
            hits = (ref,) if ref else ()
        else:
            hits = record.keys.get(name, ())
        for hit in hits:
            bucket = wanted.get(hit)
            if bucket is not None and record not in bucket:
                bucket.append(record)
    return wanted


class BatchLoader:
    """Collects values, calls `fetch` once per tick, memoizes per value for the request."""

    def __init__(self, by: str, fetch: Fetch) -> None:
        self.by = by
        self._fetch = fetch
        self._done: dict[str, asyncio.Future[list[Record]]] = {}
        self._pending: dict[str, asyncio.Future[list[Record]]] = {}
        self._scheduled = False

    def load(self, value: str) -> asyncio.Future[list[Record]]:
        """The records matching `value`, as a future of the caller's own: the answer is shared by
        every caller in the request, and one caller cancelled (graphql-core cancels the resolvers
        still running when a null propagates; `gather` then cancels what they await) must not
        cancel it for the others, who got CancelledError and dropped the whole response."""
        future = self._done.get(value) or self._pending.get(value)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self._pending[value] = future
            if not self._scheduled:
                self._scheduled = True
                # Two hops of call_soon let sibling resolvers started in the same tick join the batch.
                loop.call_soon(lambda: loop.call_soon(self._dispatch))
        return asyncio.shield(future)  # an answer already there is returned as it is

    def _dispatch(self) -> None:
        batch, self._pending, self._scheduled = self._pending, {}, False
        self._done.update(batch)
        asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: dict[str, asyncio.Future[list[Record]]]) -> None:
        values = list(batch)
        try:
            records = await self._fetch(values)
        except BaseException as exc:  # the fetch reports failures itself; never leave futures hanging
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        found = index_records(records, self.by, values)
        for value, future in batch.items():
            if not future.done():
                future.set_result(found[value])


FetchMany = Callable[[dict[str, list[str]]], Awaitable[Sequence[Record]]]


class LookupGroup:
    """The batches of one (source, entity) dispatched in the same tick, sent as one call.

    Each BatchLoader's batch joins the group; one hop later the group asks the source once with
    every lookup (`{by: values}`) and hands each batch the whole answer (the loader keeps what
    matches its own lookup). Only for sources that answer several lookups at once.
    """

    def __init__(self, fetch_many: FetchMany) -> None:
        self._fetch_many = fetch_many
        self._pending: dict[str, list[str]] = {}
        self._waiting: list[asyncio.Future[Sequence[Record]]] = []

    def fetch(self, by: str, values: list[str]) -> asyncio.Future[Sequence[Record]]:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._dispatch)
        known = self._pending.setdefault(by, [])
        known.extend(v for v in values if v not in known)
        future: asyncio.Future[Sequence[Record]] = loop.create_future()
        self._waiting.append(future)
        return future

    def _dispatch(self) -> None:
        wanted, waiting = self._pending, self._waiting
        self._pending, self._waiting = {}, []
        asyncio.get_running_loop().create_task(self._run(wanted, waiting))

    async def _run(self, wanted: dict[str, list[str]], waiting: list[asyncio.Future[Sequence[Record]]]) -> None:
        try:
            records = await self._fetch_many(wanted)
        except BaseException as exc:  # never leave a batch hanging
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future in waiting:
            if not future.done():
                future.set_result(records)
