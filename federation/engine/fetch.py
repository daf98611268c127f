"""Stage *fetch*: every connector call one request makes, guarded, cached, batched and counted.

In: a source, an entity and what to ask (a lookup by id, key or ref; a search request; any other
verb through `guarded`). Out: `Record`s (or the verb's answer) and, per source, `SourceStats`
(calls, attempts, coalesced, milliseconds, cache hits, stale, distinct records sent, errors) plus each record's
`Freshness`. A failed call is never raised here: a lookup's failure is recorded in its source's
stats (the request's error), `search_one` records it and also hands it back, and `guarded`
only hands it back (an aggregate's failure is merely a reason to search instead).

Lookups of one (source, entity, lookup) asked in the same event-loop tick are one call
(`loader.BatchLoader`); a source that takes several lookups at once gets a tick's batches of one
entity as one call (`loader.LookupGroup`). The stages above (resolve, relate, search) ask only
this object for records. See docs/architecture.md, "One request".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from federation.cache import Entry
from federation.contract import Connector, DataAge, SearchRequest
from federation.engine.gateway import Gateway
from federation.engine.loader import BatchLoader, Join, LookupGroup, index_records
from federation.engine.precheck import check_lookup
from federation.engine.stats import SourceStats
from federation.errors import CircuitOpen, OnepaneError, SourceError, SourceUnavailable, without_tracebacks
from federation.ops import metrics
from federation.ops.tracing import span, tracing_on
from federation.records import Record
from federation.resilience import Deadline
from federation.resilience.share import RequestShare

__all__ = ["LIVE", "Fetcher", "Freshness", "dedupe"]

log = logging.getLogger("federation.request")
Call = Callable[[], Awaitable[Sequence[Record]]]
What = str | Callable[[], str]  # a call's name for the log and the trace, or how to say it
_UNTRACED = contextlib.nullcontext()


class Freshness:
    """How old a record served in this request is: live (age None), cached, or stale."""

    __slots__ = ("age", "stale")

    def __init__(self, age: float | None, stale: bool) -> None:
        self.age, self.stale = age, stale

    @property
    def rank(self) -> int:
        return 0 if self.age is None else 2 if self.stale else 1


LIVE = Freshness(None, False)


class Fetcher:
    """One request's source calls: guards, loaders, the record cache, stats; never shared."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.stats: dict[str, SourceStats] = {}
        self.deadline = Deadline(gateway.config.gateway.request_timeout)
        self.capped: set[tuple[str, str]] = set()  # (source, entity) searches that hit max_search_rows
        # Called once, when the first source call of this request returns (answered or failed):
        # the compiled path closes its window for joining this operation then.
        self.on_first_answer: Callable[[], None] | None = None
        self._loaders: dict[tuple[str, str, str], BatchLoader] = {}
        self._groups: dict[tuple[str, str], LookupGroup] = {}
        self._freshness: dict[tuple[str, str, str], Freshness] = {}
        self._live: list[list[Record]] = []  # batches answered live, not yet noted per record
        self._down: dict[str, SourceError] = {}
        self._share = RequestShare(gateway.request_shares)

    def stats_of(self, source: str) -> SourceStats:
        stats = self.stats.get(source)
        if stats is None:
            stats = self.stats[source] = SourceStats()
        return stats

    async def call(self, source: str, what: What, call: Call, key: Hashable | None = None,
                   inline: bool = False) -> list[Record]:
        """One guarded connector call; a failure is recorded in the stats, not raised.
        `inline`: see `SourceGuard.call` (a batch loader's task)."""
        value, error = await self.guarded(source, what, call, key, inline)
        if error is not None:
            self.stats_of(source).errors.append(error)
            return []
        return self._arrived(source, value)

    async def guarded(self, source: str, what: What, call: Callable[[], Awaitable[Any]],
                      key: Hashable | None, inline: bool = False) -> tuple[Any, SourceError | None]:
        """One connector call of any verb through the source's guard, accounted in its stats.

        The failure is returned, not recorded: the caller decides whether it is the request's
        error (a lookup) or only a reason to do it another way (an aggregate → a search).
        `what` names the call for the log and the trace, or says it when asked (only a failure
        or a trace needs it).
        """
        stats = self.stats_of(source)
        down = self._down.get(source)
        if down is not None:  # this request already waited on the source once; don't wait again
            return None, down
        stats.calls += 1
        started = time.perf_counter()
        ended: str | None = None  # "ok" or the error's code; None: cancelled (timed, not counted)
        share = self._share.slot(source)  # this request's share of the source; the rest is others'
        try:
            traced = (span("source.call", attributes={"onepane.source": source, "onepane.call": _said(what)})
                      if tracing_on() else _UNTRACED)
            with traced:
                if not share.take():
                    await share.acquire(None)
                try:
                    outcome = await self.gateway.guards[source].call(call, self.deadline, key, inline=inline)
                finally:
                    share.release()
            ended = "ok"
        except SourceError as exc:
            without_tracebacks(exc)  # kept in the stats: no cycle through this frame
            log.warning("%s failed: %s", _said(what), exc)
            stats.attempts += getattr(exc, "attempts", 0)
            if isinstance(exc, SourceUnavailable | CircuitOpen):
                self._down[source] = exc
            ended = exc.code
            return None, exc
        finally:
            elapsed = time.perf_counter() - started
            stats.milliseconds += elapsed * 1000
            # Tallied, added to Prometheus in bulk (its per-call locks cost more than the count).
            metrics.TALLY.source_call(source, ended, elapsed)
            if self.on_first_answer is not None:
                first, self.on_first_answer = self.on_first_answer, None
                first()
        stats.attempts += outcome.attempts
        stats.coalesced += outcome.joined
        return outcome.value, None

    def _arrived(self, source: str, value: Iterable[Record]) -> list[Record]:
        """A live answer's records, counted and noted as live."""
        records = list(value)
        self.stats_of(source).seen.update(r.uid for r in records)  # counted once, however many calls sent it
        if self._freshness:  # something came from the cache: keep every record's rank exact
            for record in records:
                self._note(record, LIVE)
        else:  # live is the default: remembered per batch, per record only once a cached one shows up
            self._live.append(records)
        return records

    def loader(self, source: str, entity: str, by: str) -> BatchLoader:
        """The request's batch loader for one (source, entity, lookup).

        Its calls run in the loader's (or its group's) own task, which nothing but the guard's
        timeouts cancels: the guard runs them there (`inline`), with no task of their own.
        """
        key = (source, entity, by)
        loader = self._loaders.get(key)
        if loader is None:
            connector = self.gateway.connectors[source]
            mine = weakref.ref(self)  # not `self`: the fetcher holds its loaders, and a cycle outlives the request
            if self.gateway.cache.enabled(source):
                async def cached(values: list[str]) -> Sequence[Record]:
                    fetcher = mine()
                    if fetcher is None:  # the request is gone: nobody waits for these records
                        return []
                    what = f"{source}.lookup({entity}, {by}, {len(values)} values)"
                    return await fetcher._cached_lookup(source, entity, by, values, what)

                loader = BatchLoader(by, cached)
            elif type(connector).lookup_many is not Connector.lookup_many:
                loader = BatchLoader(by, group=self._group(source, entity))
            else:
                async def fetch(values: list[str]) -> Sequence[Record]:
                    fetcher = mine()
                    if fetcher is None:
                        return []
                    return await fetcher.call(source, lambda: f"{source}.lookup({entity}, {by}, {len(values)} values)",
                                              lambda: connector.lookup(entity, by, values),
                                              ("lookup", entity, by, tuple(sorted(values))), inline=True)

                loader = BatchLoader(by, fetch)
            self._loaders[key] = loader
        return loader

    def _group(self, source: str, entity: str) -> LookupGroup:
        """Lookups of one source and entity in the same tick, for a source that takes them at once."""
        group = self._groups.get((source, entity))
        if group is None:
            connector = self.gateway.connectors[source]
            mine = weakref.ref(self)  # as in `loader`: no cycle through the fetcher's groups

            async def fetch_many(wanted: dict[str, list[str]]) -> Sequence[Record]:
                fetcher = mine()
                if fetcher is None:
                    return []
                key = ("lookup", entity, tuple(sorted([(by, tuple(sorted(v))) for by, v in wanted.items()])))
                return await fetcher.call(source, lambda: _lookups(source, entity, wanted),
                                          lambda: connector.lookup_many(entity, wanted), key, inline=True)

            group = self._groups[(source, entity)] = LookupGroup(fetch_many)
        return group

    async def _cached_lookup(self, source: str, entity: str, by: str, values: list[str], what: str) -> list[Record]:
        """Fresh cache hits, then one call for the rest; on failure, stale entries in their window."""
        cache, stats = self.gateway.cache, self.stats_of(source)
        hits = await cache.fresh(source, entity, by, values)
        stats.cache_hits += len(hits)
        metrics.CACHE.labels(source, "hit").inc(len(hits))
        metrics.CACHE.labels(source, "miss").inc(len(values) - len(hits))
        records = self._served(hits, stale=False)
        misses = [v for v in values if v not in hits]
        if not misses:
            return records
        connector = self.gateway.connectors[source]
        value, error = await self.guarded(source, what, lambda: connector.lookup(entity, by, misses),
                                          ("lookup", entity, by, tuple(sorted(misses))), inline=True)
        if error is None:
            fetched = self._arrived(source, value)
            await cache.store(source, entity, by, index_records(fetched, by, misses))
            return records + fetched
        stale = await cache.stale(source, entity, by, misses)
        stats.stale += len(stale)
        metrics.CACHE.labels(source, "stale").inc(len(stale))
        (stats.covered if len(stale) == len(misses) else stats.errors).append(error)
        return records + self._served(stale, stale=True)

    def _served(self, entries: Mapping[str, Entry], stale: bool) -> list[Record]:
        out = []
        for entry in entries.values():
            freshness = Freshness(round(entry.age(), 3), stale)
            for record in entry.records:
                self._note(record, freshness)
                out.append(record)
        return out

    def _note(self, record: Record, freshness: Freshness) -> None:
        if self._live:
            batches, self._live = self._live, []
            self._freshness.update((r.uid, LIVE) for batch in batches for r in batch)
        current = self._freshness.get(record.uid)
        if current is None or freshness.rank < current.rank:
            self._freshness[record.uid] = freshness

    def freshness(self, record: Record) -> Freshness:
        """Live, cached or stale, for `sourceRecords { stale ageSeconds }`. A record read from a
        copy (an export file's snapshot, `record.as_of`) is as old as that copy, also when a newer
        one has replaced it since, and stale past the source's max_age (or when served stale)."""
        fresh = self._freshness.get(record.uid, LIVE)
        connector = self.gateway.connectors.get(record.source)
        current = connector.data_age() if connector is not None else None
        if record.as_of is not None:
            copy: DataAge | None = DataAge(record.as_of, current.max_age if current is not None else None)
        else:  # a connector that reports its copy's age without stamping records: the copy serving now
            copy = current if fresh is LIVE else None
        return fresh if copy is None else Freshness(round(copy.age(), 3), fresh.stale or copy.stale())

    def lookup(
        self, entity: str, by: str, values: Iterable[str], sources: Iterable[str] | None = None, caller: bool = True
    ) -> asyncio.Future[list[Record]]:
        """Records of `entity` whose `by` matches any value, from every able source at once; a
        caller's value no source column could hold is BAD_USER_INPUT before any call (values read
        from records, `caller=False`, are sent as they are).

        A future, not a coroutine: `gather` of several lookups makes no task per lookup, and a
        lookup answered earlier in the request is done at once. Cancelling it cancels no load.
        """
        names = self.gateway.sources_for(entity, by) if sources is None else [
            s for s in sources if by in getattr(self.gateway.entity_caps(s, entity), "lookups", ())]
        values = list(values)
        if caller:
            check_lookup(self.gateway.value_limits, names, entity, by, values)
        join = Join(len(names) * len(values), _flat)
        index = 0
        for source in names:
            loader = self.loader(source, entity, by)
            for value in values:
                loader.load_into(value, join, index)
                index += 1
        return join.future

    async def search_one(self, source: str, entity: str,
                         request: SearchRequest) -> tuple[list[Record], SourceError | None]:
        """The source's records (none when it failed, the failure recorded in its stats) and its failure."""
        connector = self.gateway.connectors[source]
        value, error = await self.guarded(source, f"{source}.search({entity})", lambda: connector.search(
            entity, request), ("search", entity, repr(request)))
        if error is not None:
            self.stats_of(source).errors.append(error)
        records = [] if error is not None else self._arrived(source, value)
        if len(records) >= self.gateway.config.gateway.max_search_rows:
            self.capped.add((source, entity))  # the source may hold more: an answer over all of it is partial
        return records, error

    def failures(self) -> list[SourceError]:
        """Every source failure this request recorded (not those stale cache entries covered)."""
        return [e for s in self.stats.values() for e in s.errors]

    def record_error(self, error: OnepaneError) -> None:
        """A source error raised above this stage (a resolver's), counted in its source's stats."""
        source = getattr(error, "source", None)
        if isinstance(error, SourceError) and source:
            self.stats_of(source).errors.append(error)


def _said(what: What) -> str:
    return what if isinstance(what, str) else what()


def _lookups(source: str, entity: str, wanted: Mapping[str, list[str]]) -> str:
    return f"{source}.lookup({entity}, " + ", ".join(f"{by} {len(v)}" for by, v in wanted.items()) + ")"


def _flat(batches: list[list[Record]]) -> list[Record]:
    return dedupe(r for batch in batches for r in batch)


def dedupe(records: Iterable[Record]) -> list[Record]:
    """Records in first-seen order, each (entity, source, local id) once."""
    return list({r.uid: r for r in records}.values())
