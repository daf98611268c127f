"""A per-request batch loader for one (source, entity, lookup): every value asked for in the
same event-loop tick goes to the source in one call.

Written here rather than using strawberry's DataLoader so the engine stays framework-free and
a failed batch can fail soft (an empty answer per value) while the failure is reported once.

A batch's answer is handed to each caller's own future (or `Join`) directly, never through a
future shared by the callers: one caller cancelled (graphql-core cancels the resolvers still
running when a null propagates) cancels only what it awaits, and no shield, gather or chain of
done-callbacks stands between the source's answer and the callers (each link costs a trip
round the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

from federation.records import Record

__all__ = ["BatchLoader", "Join", "LookupGroup", "index_records"]

R = TypeVar("R")
Fetch = Callable[[list[str]], Awaitable[Sequence[Record]]]
Answer = list[Record] | BaseException  # one value's records, or why its batch failed
Listener = Callable[[Answer], None]
Settle = Callable[[Sequence[Record] | BaseException], None]  # a whole batch's records, or its failure


def index_records(records: Sequence[Record], by: str, values: Sequence[str]) -> dict[str, list[Record]]:
    """Group `records` under each requested value they match on `by`."""
    wanted = {v: [] for v in values}  # type: dict[str, list[Record]]
    kind, _, name = by.partition(":")
    # A row answered twice (two statements of one batch found it) is filed once per value, by its
    # uid: `record not in bucket` compared whole records, ~120 __eq__ calls for 16 purchases.
    filed: set[tuple[str, tuple[str, str, str]]] = set()
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
            if bucket is not None and (mark := (hit, record.uid)) not in filed:
                filed.add(mark)
                bucket.append(record)
    return wanted


class Join(Generic[R]):
    """One future for several loads: `combine` of their answers in the order asked, or the first
    failure. Already done when every load was answered before (nothing to wait for).

    Cancelling it (its caller gave up) cancels none of the loads; their later answers are dropped.
    """

    __slots__ = ("combine", "future", "left", "results")

    def __init__(self, count: int, combine: Callable[[list[list[Record]]], R]) -> None:
        self.future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.combine = combine
        self.results: list[list[Record]] = [[]] * count
        self.left = count
        if not count:
            self.future.set_result(combine(self.results))

    def put(self, index: int, answer: Answer) -> None:
        future = self.future
        if future.done():
            return
        if isinstance(answer, BaseException):
            future.set_exception(answer)
            return
        self.results[index] = answer
        self.left -= 1
        if not self.left:
            future.set_result(self.combine(self.results))


def _to_future(future: asyncio.Future[list[Record]], answer: Answer) -> None:
    if future.done():  # its caller was cancelled
        return
    if isinstance(answer, BaseException):
        future.set_exception(answer)
    else:
        future.set_result(answer)


class BatchLoader:
    """Collects values, sends them once per tick, memoizes each value's answer for the request.

    It calls `fetch` itself, or, given a `group`, sends its batch with the other loaders' of the
    same tick (`LookupGroup`).
    """

    def __init__(self, by: str, fetch: Fetch | None = None, group: LookupGroup | None = None) -> None:
        if (fetch is None) == (group is None):
            raise ValueError("a BatchLoader takes exactly one of `fetch` and `group`")
        self.by = by
        self._fetch = fetch
        self._group = group
        self._answers: dict[str, Answer] = {}
        self._waiting: dict[str, list[Listener]] = {}  # asked, not answered yet (queued or in flight)
        self._queued: list[str] = []  # asked, not sent yet
        self._scheduled = False

    def load(self, value: str) -> asyncio.Future[list[Record]]:
        """The records matching `value`, as a future of the caller's own: the answer is shared by
        every caller in the request, and a caller cancelled cancels only its own future."""
        future: asyncio.Future[list[Record]] = asyncio.get_running_loop().create_future()
        self._listen(value, partial(_to_future, future))
        return future

    def load_into(self, value: str, join: Join[Any], index: int) -> None:
        """`value`'s answer as `join`'s `index`th."""
        self._listen(value, partial(join.put, index))

    def _listen(self, value: str, listener: Listener) -> None:
        answer = self._answers.get(value)
        if answer is not None:
            listener(answer)
            return
        waiting = self._waiting.get(value)
        if waiting is not None:
            waiting.append(listener)
            return
        self._waiting[value] = [listener]
        self._queued.append(value)
        if not self._scheduled:
            self._scheduled = True
            # Two hops of the loop let sibling resolvers started in the same tick join the batch.
            asyncio.get_running_loop().call_soon(self._second_hop)

    def _second_hop(self) -> None:
        if self._group is None:  # the task takes the batch when it starts: the hop's own tick
            asyncio.get_running_loop().create_task(self._run())
        else:
            asyncio.get_running_loop().call_soon(self._join_group)

    def _take(self) -> list[str]:
        values, self._queued, self._scheduled = self._queued, [], False
        return values

    def _join_group(self) -> None:
        assert self._group is not None
        values = self._take()
        self._group.add(self.by, values, partial(self._settle, values))

    async def _run(self) -> None:
        assert self._fetch is not None
        values = self._take()
        try:
            records = await self._fetch(values)
        except BaseException as exc:  # the fetch reports failures itself; never leave callers hanging
            self._settle(values, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._settle(values, records)

    def _settle(self, values: list[str], outcome: Sequence[Record] | BaseException) -> None:
        if isinstance(outcome, BaseException):
            for value in values:
                self._answer(value, outcome)
            return
        found = index_records(outcome, self.by, values)
        for value in values:
            self._answer(value, found[value])

    def _answer(self, value: str, answer: Answer) -> None:
        self._answers[value] = answer
        for listener in self._waiting.pop(value):
            listener(answer)


FetchMany = Callable[[dict[str, list[str]]], Awaitable[Sequence[Record]]]


class LookupGroup:
    """The batches of one (source, entity) sent in the same tick, sent as one call.

    Each BatchLoader's batch joins the group; one hop later (when the group's task starts) the
    group asks the source once with every lookup (`{by: values}`) and hands each batch the whole
    answer (the loader keeps what matches its own lookup). Only for sources that answer several
    lookups at once.
    """

    def __init__(self, fetch_many: FetchMany) -> None:
        self._fetch_many = fetch_many
        self._wanted: dict[str, dict[str, None]] = {}  # by → values, in the order first asked
        self._settles: list[Settle] = []

    def add(self, by: str, values: list[str], settle: Settle) -> None:
        """Send `values` with this tick's other batches; `settle` gets the answer or the failure."""
        if not self._settles:  # the task takes the group when it starts: the next tick
            asyncio.get_running_loop().create_task(self._run())
        self._wanted.setdefault(by, {}).update(dict.fromkeys(values))
        self._settles.append(settle)

    async def _run(self) -> None:
        wanted = {by: list(values) for by, values in self._wanted.items()}
        settles, self._wanted, self._settles = self._settles, {}, []
        try:
            records = await self._fetch_many(wanted)
        except BaseException as exc:  # never leave a batch hanging
            for settle in settles:
                settle(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for settle in settles:
            settle(records)
