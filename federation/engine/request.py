"""One request's execution: batched loaders, concurrent fan-out, identity, merge, relations."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

from federation.cache import Entry
from federation.contract import Condition, Connector, DataAge, SearchRequest, SortKey
from federation.engine.gateway import Gateway
from federation.engine.identity import Cluster, Edge, cluster_records, linking_pairs
from federation.engine.loader import BatchLoader, LookupGroup, index_records
from federation.engine.precheck import check_conditions, check_lookup
from federation.engine.residual import matches, sort_records
from federation.engine.stats import SourceStats
from federation.engine.unified import Unified, lone, merge
from federation.errors import CircuitOpen, OnepaneError, SourceError, SourceUnavailable
from federation.identity.matching import BlockQuery, Match, block_queries, can_filter, scored_pairs
from federation.identity.overrides import Overrides
from federation.identity.rules import IdentityDecl
from federation.identity.scoring import Score
from federation.keys import key_match_keys, normalize
from federation.model.declaration import EntityDecl, RelationDecl
from federation.ops import metrics
from federation.ops.tracing import span
from federation.records import Record, SourceRef, parse_source_ref
from federation.resilience import Deadline
from federation.resilience.share import RequestShare

__all__ = ["Freshness", "PossibleMatch", "Request"]

log = logging.getLogger("federation.request")
Call = Callable[[], Awaitable[Sequence[Record]]]


class Freshness:
    """How old a record served in this request is: live (age None), cached, or stale."""

    __slots__ = ("age", "stale")

    def __init__(self, age: float | None, stale: bool) -> None:
        self.age, self.stale = age, stale

    @property
    def rank(self) -> int:
        return 0 if self.age is None else 2 if self.stale else 1


LIVE = Freshness(None, False)


class PossibleMatch:
    """Another unified entity a fuzzy rule scored as maybe the same, and why."""

    __slots__ = ("pair", "reasons", "score", "unit")

    def __init__(self, unit: Unified, score: float, reasons: tuple[str, ...],
                 pair: tuple[Record, Score] | None = None) -> None:
        self.unit, self.score, self.reasons = unit, score, reasons
        self.pair = pair  # the other side's record that scored best, and its score


class Request:
    """State for one GraphQL request; never shared between requests."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.model = gateway.model
        self.stats: dict[str, SourceStats] = {}
        self._loaders: dict[tuple[str, str, str], BatchLoader] = {}
        self._groups: dict[tuple[str, str], LookupGroup] = {}
        self._load_fns: dict[int, Callable[[Unified], list[asyncio.Future[list[Record]]]]] = {}
        self._units: dict[tuple[str, str, str], Unified] = {}
        self._link_scores: dict[tuple[str, str, str], list[tuple[Record, Score]]] = {}
        self.deadline = Deadline(gateway.config.gateway.request_timeout)
        self._freshness: dict[tuple[str, str, str], Freshness] = {}
        self._live: list[list[Record]] = []  # batches answered live, not yet noted per record
        self._down: dict[str, SourceError] = {}
        self._possible: dict[int, dict[int, PossibleMatch]] = {}
        self.capped: set[tuple[str, str]] = set()  # (source, entity) searches that hit max_search_rows
        self._share = RequestShare(gateway.request_shares)
        # Called once, when the first source call of this request returns (answered or failed):
        # the compiled path closes its window for joining this operation then.
        self.on_first_answer: Callable[[], None] | None = None

    # -- source calls -------------------------------------------------------------------------

    def _stats(self, source: str) -> SourceStats:
        stats = self.stats.get(source)
        if stats is None:
            stats = self.stats[source] = SourceStats()
        return stats

    async def _call(self, source: str, what: str, call: Call, key: Hashable | None = None) -> list[Record]:
        """One guarded connector call; a failure is recorded in the stats, not raised."""
        records, error = await self._guarded(source, what, call, key)
        if error is not None:
            self._stats(source).errors.append(error)
        return records

    async def guarded(self, source: str, what: str, call: Callable[[], Awaitable[Any]],
                      key: Hashable | None) -> tuple[Any, SourceError | None]:
        """One connector call of any verb through the source's guard, accounted in its stats.

        The failure is returned, not recorded: the caller decides whether it is the request's
        error (a lookup) or only a reason to do it another way (an aggregate → a search).
        """
        stats = self._stats(source)
        down = self._down.get(source)
        if down is not None:  # this request already waited on the source once; don't wait again
            return None, down
        stats.calls += 1
        started = time.perf_counter()
        try:
            with span("source.call", attributes={"onepane.source": source, "onepane.call": what}):
                async with self._share.slot(source):  # this request's share of the source; the rest is others'
                    outcome = await self.gateway.guards[source].call(call, self.deadline, key)
        except SourceError as exc:
            log.warning("%s failed: %s", what, exc)
            stats.attempts += getattr(exc, "attempts", 0)
            if isinstance(exc, SourceUnavailable | CircuitOpen):
                self._down[source] = exc
            metrics.SOURCE_CALLS.labels(source, exc.code).inc()
            return None, exc
        finally:
            elapsed = time.perf_counter() - started
            stats.milliseconds += elapsed * 1000
            metrics.SOURCE_SECONDS.labels(source).observe(elapsed)
            if self.on_first_answer is not None:
                first, self.on_first_answer = self.on_first_answer, None
                first()
        metrics.SOURCE_CALLS.labels(source, "ok").inc()
        stats.attempts += outcome.attempts
        stats.coalesced += outcome.joined
        return outcome.value, None

    async def _guarded(self, source: str, what: str, call: Call,
                       key: Hashable | None) -> tuple[list[Record], SourceError | None]:
        value, error = await self.guarded(source, what, call, key)
        if error is not None:
            return [], error
        records = list(value)
        self._stats(source).records += len(records)
        if self._freshness:  # something came from the cache: keep every record's rank exact
            for record in records:
                self._note(record, LIVE)
        else:  # live is the default: remembered per batch, per record only once a cached one shows up
            self._live.append(records)
        return records, None

    def _loader(self, source: str, entity: str, by: str) -> BatchLoader:
        key = (source, entity, by)
        loader = self._loaders.get(key)
        if loader is None:
            connector = self.gateway.connectors[source]
            cached = self.gateway.cache.enabled(source)

            async def fetch(values: list[str]) -> Sequence[Record]:
                what = f"{source}.lookup({entity}, {by}, {len(values)} values)"
                if cached:
                    return await self._cached_lookup(source, entity, by, values, what)
                if type(connector).lookup_many is not Connector.lookup_many:
                    return await self._group(source, entity).fetch(by, values)
                return await self._call(source, what, lambda: connector.lookup(entity, by, values),
                                        ("lookup", entity, by, tuple(sorted(values))))

            loader = self._loaders[key] = BatchLoader(by, fetch)
        return loader

    def _group(self, source: str, entity: str) -> LookupGroup:
        """Lookups of one source and entity in the same tick, for a source that takes them at once."""
        group = self._groups.get((source, entity))
        if group is None:
            connector = self.gateway.connectors[source]

            async def fetch_many(wanted: dict[str, list[str]]) -> Sequence[Record]:
                what = f"{source}.lookup({entity}, " + ", ".join(f"{by} {len(v)}" for by, v in wanted.items()) + ")"
                key = ("lookup", entity, tuple(sorted((by, tuple(sorted(v))) for by, v in wanted.items())))
                return await self._call(source, what, lambda: connector.lookup_many(entity, wanted), key)

            group = self._groups[(source, entity)] = LookupGroup(fetch_many)
        return group

    async def _cached_lookup(self, source: str, entity: str, by: str, values: list[str], what: str) -> list[Record]:
        """Fresh cache hits, then one call for the rest; on failure, stale entries in their window."""
        cache, stats = self.gateway.cache, self._stats(source)
        hits = await cache.fresh(source, entity, by, values)
        stats.cache_hits += len(hits)
        metrics.CACHE.labels(source, "hit").inc(len(hits))
        metrics.CACHE.labels(source, "miss").inc(len(values) - len(hits))
        records = self._served(hits, stale=False)
        misses = [v for v in values if v not in hits]
        if not misses:
            return records
        connector = self.gateway.connectors[source]
        fetched, error = await self._guarded(source, what, lambda: connector.lookup(entity, by, misses),
                                             ("lookup", entity, by, tuple(sorted(misses))))
        if error is None:
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

    async def lookup(
        self, entity: str, by: str, values: Iterable[str], sources: Iterable[str] | None = None, caller: bool = True
    ) -> list[Record]:
        """Records of `entity` whose `by` matches any value, from every able source at once; a
        caller's value no source column could hold is BAD_USER_INPUT before any call (values read
        from records, `caller=False`, are sent as they are)."""
        names = self.gateway.sources_for(entity, by) if sources is None else [
            s for s in sources if by in getattr(self.gateway.entity_caps(s, entity), "lookups", ())]
        values = list(values)
        if caller:
            check_lookup(self.gateway.value_limits, names, entity, by, values)
        futures = [self._loader(s, entity, by).load(v) for s in names for v in values]
        results = await asyncio.gather(*futures)
        return _dedupe(r for batch in results for r in batch)

    # -- identity -----------------------------------------------------------------------------

    async def unify(self, entity: str, seeds: Sequence[Record]) -> list[Unified]:
        """Expand `seeds` over the configured hops, add fuzzy candidates, cluster, merge.

        Overrides apply before clustering (never-link beats any key, must-link joins); fuzzy
        pairs at or above a rule's `link` join only where the rule says `autoLink`, the rest
        at or above `suggest` become `possible_matches` of the unified entity.
        """
        decl = self.model.entities[entity]
        known = [self._units.get(r.uid) for r in seeds]
        if all(known):
            return _dedupe_units(u for u in known if u is not None)
        overrides = await self.gateway.overrides.snapshot()
        fuzzy = decl.identity if decl.identity is not None and decl.identity.rules \
            and entity not in self.gateway.identity_warnings else None
        if not decl.linking_keys and fuzzy is None and not overrides.about(entity):
            return self._lone_units(decl, entity, seeds)
        # The seeds' blocking values are asked while the keys expand; the rest's afterwards.
        early = asyncio.ensure_future(self._candidates(entity, fuzzy, seeds)) if fuzzy else None
        records = await self._expand(entity, seeds, overrides, {})
        mine = list(records.values())
        matches: list[Match] = []
        if fuzzy is not None and early is not None:
            asked = set(seeds)
            later = await self._candidates(entity, fuzzy, [r for r in mine if r not in asked])
            found = _dedupe([*await early, *later])
            model = self.gateway.identity_models.get(entity)
            bucket = self.gateway.scopes.bucketer(entity)
            first = scored_pairs(fuzzy, decl, mine, [r for r in found if r.uid not in records], model, bucket)
            near = [r for m in first for r in (m.a, m.b) if r.uid not in records]
            everything = {**records, **await self._expand(entity, near, overrides, records)}
            matches = scored_pairs(fuzzy, decl, mine, list(everything.values()), model, bucket)
        else:
            everything = records
        clusters = self._cluster(entity, list(everything.values()), overrides, matches)
        units: dict[Record, Unified] = {}
        for cluster in clusters:
            unit = merge(decl, entity, cluster.records, cluster.linked_by, self.gateway.source_order)
            units.update(dict.fromkeys(cluster.records, unit))
            if any(r.uid in records for r in cluster.records):
                for record in cluster.records:
                    self._units.setdefault(record.uid, unit)
        self._suggest(units, matches, overrides)
        return _dedupe_units(self._units[r.uid] for r in seeds)

    def _lone_units(self, decl: EntityDecl, entity: str, seeds: Sequence[Record]) -> list[Unified]:
        """Nothing can link records of this entity (no linking key, no rule, no override): each
        record is its own unit, with nothing to expand, cluster or explain. The hot path of plain
        entities (lines, events, posts): one cached view per record, no per-record identity work."""
        units = self._units
        out: list[Unified] = []
        for record in seeds:
            unit = units.get(record.uid)
            if unit is None:
                unit = units[record.uid] = lone(decl, entity, record)
            out.append(unit)
        return _dedupe_units(out)

    async def _expand(self, entity: str, seeds: Iterable[Record], overrides: Overrides,
                      have: Mapping[tuple[str, str, str], Record]) -> dict[tuple[str, str, str], Record]:
        """`seeds` plus every record their linking keys and must-link overrides reach within the hops."""
        decl = self.model.entities[entity]
        records = {r.uid: r for r in seeds if r.uid not in have}
        asked: set[tuple[str, str, str]] = set()
        frontier = [r for r in records.values() if r.uid not in self._units]
        for _ in range(self.gateway.config.gateway.max_hops):
            pairs = {(k, v, s) for r in frontier for k, v in linking_pairs(r, decl.linking_keys)
                     for s in self.gateway.key_sources(entity, k, r.source)} - asked  # only where the key's scope links
            partners = {o.b if o.a == str(r.ref) else o.a for r in frontier for o in overrides.of(entity, str(r.ref))
                        if o.kind == "link"} if overrides.about(entity) else set()
            refs = [ref for p in partners if (ref := parse_source_ref(p)) is not None
                    and (entity, ref.source, ref.local_id) not in records and ref.source in self.gateway.connectors]
            if not pairs and not refs:
                break
            asked |= pairs
            batches = await asyncio.gather(*(self.lookup(entity, f"key:{k}", [v], [s], caller=False)
                                             for k, v, s in pairs),
                                           *(self.lookup(entity, "id", [ref.local_id], [ref.source], caller=False)
                                             for ref in refs))
            frontier = [r for batch in batches for r in batch if r.uid not in records and r.uid not in have]
            records.update((r.uid, r) for r in frontier)
        return records

    async def fuzzy_candidates(self, entity: str, records: Sequence[Record]) -> list[Record]:
        """Records of the sources sharing a blocking value with `records` (which need not come from
        a source: a walk-in's typed values); none when the entity has no rules or runs degraded."""
        identity = self.model.entities[entity].identity
        if identity is None or not identity.rules or entity in self.gateway.identity_warnings:
            return []
        return await self._candidates(entity, identity, records)

    async def _candidates(self, entity: str, identity: IdentityDecl, records: Sequence[Record]) -> list[Record]:
        """Records sharing a blocking value: batched lookups by key, or one pushed-down search per source."""
        decl = self.model.entities[entity]
        calls: list[Awaitable[list[Record]]] = []
        for query in block_queries(identity, decl, records):
            for source in self.gateway.sources_for(entity):
                how = can_filter(self.gateway.entity_caps(source, entity), query.parts)
                if how == "lookup":
                    calls.append(self._block_lookup(source, entity, query))
                elif how == "search":
                    calls.append(self._block_search(source, entity, query))
        batches = await asyncio.gather(*calls)
        return _dedupe(r for batch in batches for r in batch)

    async def _block_lookup(self, source: str, entity: str, query: BlockQuery) -> list[Record]:
        loader = self._loader(source, entity, f"key:{query.parts[0]}")
        found = await asyncio.gather(*(loader.load(str(v)) for v in query.values[0]))
        return [r for batch in found if len(batch) <= query.max_block for r in batch]

    async def _block_search(self, source: str, entity: str, query: BlockQuery) -> list[Record]:
        conditions = query.conditions()
        request = SearchRequest(tuple(conditions), (), self.gateway.config.gateway.max_search_rows)
        found = [r for r in (await self._search_one(source, entity, request))[0] if matches(r, conditions)]
        return found if len(found) <= query.max_block * max(len(v) for v in query.values) else []

    def _cluster(self, entity: str, records: list[Record], overrides: Overrides,
                 found: Sequence[Match]) -> list[Cluster]:
        decl = self.model.entities[entity]
        joins: list[Edge] = []
        never: list[tuple[Record, Record]] = []
        by_ref = {str(r.ref): r for r in records} if overrides.about(entity) else {}
        for record in records if by_ref else ():
            for o in overrides.of(entity, str(record.ref)):
                a, b = by_ref.get(o.a), by_ref.get(o.b)
                if a is None or b is None or a != record:
                    continue
                if o.kind == "link":
                    joins.append(Edge(a, b, o.label()))
                else:
                    never.append((a, b))
        scored = [Edge(m.a, m.b, m.score.explain()) for m in found if m.links]
        for m in found if scored else ():
            if m.links:
                self._link_scores.setdefault(m.a.uid, []).append((m.b, m.score))
                self._link_scores.setdefault(m.b.uid, []).append((m.a, m.score))
        return cluster_records(records, decl.linking_keys, decl.shared_keys, decl.name_field, joins=joins,
                               scored=scored, never=never, scope=self.gateway.scopes.bucketer(entity))

    def _suggest(self, units: Mapping[Record, Unified], found: Sequence[Match], overrides: Overrides) -> None:
        """Pairs that did not link become possible matches of each side's unified entity (best score kept)."""
        for m in found:
            left, right = units.get(m.a), units.get(m.b)
            if left is None or right is None or left is right:
                continue
            if any(o.kind == "never" and {o.a, o.b} == {str(m.a.ref), str(m.b.ref)}
                   for o in overrides.of(m.a.entity, str(m.a.ref))):
                continue
            for unit, other in ((left, right), (right, left)):
                if self._units.get(_ukey(unit.records[0])) is not unit:
                    continue
                listed = self._possible.setdefault(id(unit), {})
                if id(other) not in listed or listed[id(other)].score < m.score.value:
                    theirs = m.b if unit is left else m.a
                    listed[id(other)] = PossibleMatch(other, m.score.value, (m.score.explain(),), (theirs, m.score))

    def link_scores(self, record: Record) -> list[tuple[Record, Score]]:
        """The fuzzy-rule links this request made for `record`: the other record and the score."""
        return self._link_scores.get(record.uid, [])

    async def possible_matches(self, unit: Unified) -> list[PossibleMatch]:
        """Entities a fuzzy rule scored between `suggest` and `link` (or above, without autoLink), best first."""
        if self._units.get(_ukey(unit.records[0])) is not unit:
            unit = (await self.unify(unit.entity, list(unit.records)))[0]
        return sorted(self._possible.get(id(unit), {}).values(), key=lambda p: -p.score)

    async def get(self, entity: str, ref: SourceRef) -> Unified | None:
        """The unified entity that holds the record `ref`; None when no such record."""
        if ref.source not in self.gateway.connectors:
            return None
        if "id" not in getattr(self.gateway.entity_caps(ref.source, entity), "lookups", ()):
            return None
        records = await self.lookup(entity, "id", [ref.local_id], [ref.source])
        units = await self.unify(entity, records)
        return units[0] if units else None

    async def find(self, entity: str, key: str, values: Sequence[str]) -> list[Unified]:
        """Unified entities with any of `values` for match key `key`."""
        return await self.unify(entity, await self.lookup(entity, f"key:{key}", values))

    # -- relations ----------------------------------------------------------------------------

    async def related(self, parent: Unified, name: str) -> list[Unified]:
        """The entities `parent`'s relation `name` points at (batched with sibling parents)."""
        relation = self.model.entities[parent.entity].relations[name]
        records = await asyncio.gather(*self._relation_loads(relation)(parent))
        units = await self.unify(relation.entity, _dedupe(r for batch in records for r in batch))
        return self.ordered(relation.entity, units)

    async def related_many(self, parents: Sequence[Unified], name: str) -> list[list[Unified]]:
        """`related` for a whole level of parents at once: every load in one batch, the children
        unified together once, then handed back to the parent each came from (read-only lists:
        parents whose loads are alike get the same one).

        Parents whose loads are the same (a hundred posts of ten users) share one answer: the
        work after the loads is per distinct set of loads, not per parent."""
        if not parents:
            return []
        relation = self.model.entities[parents[0].entity].relations[name]
        loads_of = self._relation_loads(relation)
        signature_of = _load_signature(relation, self.gateway.relation_scoped(parents[0].entity, relation.keys,
                                                                               relation.entity))
        signatures = [signature_of(parent) for parent in parents]
        firsts: dict[Hashable, Unified] = {}
        for parent, signature in zip(parents, signatures, strict=True):
            firsts.setdefault(signature, parent)
        distinct = {signature: loads_of(parent) for signature, parent in firsts.items()}
        results = await asyncio.gather(*(f for loads in distinct.values() for f in loads))
        grouped: dict[Hashable, list[Record]] = {}
        start = 0
        for signature, loads in distinct.items():
            grouped[signature] = _dedupe(r for batch in results[start:start + len(loads)] for r in batch)
            start += len(loads)
        await self.unify(relation.entity, _dedupe(r for records in grouped.values() for r in records))
        units = self._units
        answers = {signature: self.ordered(relation.entity, _dedupe_units(units[r.uid] for r in records
                                                                           if r.uid in units))
                   for signature, records in grouped.items()}
        return [answers[signature] for signature in signatures]  # parents that loaded alike share one list

    def _relation_loads(self, relation: RelationDecl) -> Callable[[Unified], list[asyncio.Future[list[Record]]]]:
        """For one relation, the function giving a parent's loads: what does not depend on the
        parent (lookup names, able sources, loaders) is worked out once per request, not per
        parent (the strawberry path asks `related` once per parent)."""
        known = self._load_fns.get(id(relation))
        if known is not None:
            return known
        target = relation.entity
        backref = f"ref:{relation.backref}" if relation.backref else None
        backref_sources = frozenset(self.gateway.sources_for(target, backref)) if backref else frozenset()
        ref = relation.ref
        id_sources = frozenset(self.gateway.sources_for(target, "id")) if ref else frozenset()
        keys = self.model.entities[target].keys
        by_key = [(mine, theirs, [(s, self._loader(s, target, f"key:{theirs}"))
                                  for s in self.gateway.sources_for(target, f"key:{theirs}")],
                   getattr(keys.get(theirs), "normalize", None) == "phone")
                  for mine, theirs in relation.keys.items()]
        scopes = self.gateway.scopes

        def loads(parent: Unified) -> list[asyncio.Future[list[Record]]]:
            out: list[asyncio.Future[list[Record]]] = []
            records = parent.records
            if backref:
                out += [self._loader(r.source, target, backref).load(r.local_id)
                        for r in records if r.source in backref_sources]
            if ref:
                for record in records:
                    local = record.refs.get(ref)
                    if local and record.source in id_sources:
                        out.append(self._loader(record.source, target, "id").load(local))
            scoped = self.gateway.relation_scoped(parent.entity, relation.keys, target)
            for mine, theirs, loaders, phone in by_key:
                if scoped:  # each record's values only to the sources both keys' scopes link it to
                    out += [loader.load(value) for r in records for value in _related_keys(r.keys.get(mine, ()), phone)
                            for s, loader in loaders if scopes.relation_links(parent.entity, mine, r.source,
                                                                              target, theirs, s)]
                    continue
                values = records[0].keys.get(mine, ()) if len(records) == 1 else parent.key_values(mine)
                out += [loader.load(value) for value in _related_keys(values, phone) for _, loader in loaders]
            return out

        self._load_fns[id(relation)] = loads  # the model's relation objects live as long as the gateway
        return loads

    def ordered(self, entity: str, units: list[Unified]) -> list[Unified]:
        """Units in the entity's timeline order (newest first, undated last); as given without one."""
        timeline = self.model.entities[entity].timeline
        if timeline is None:
            return units
        dated = [u for u in units if u.values.get(timeline.at) is not None]
        undated = [u for u in units if u.values.get(timeline.at) is None]
        return sorted(dated, key=lambda u: u.values[timeline.at], reverse=True) + undated

    # -- search -------------------------------------------------------------------------------

    async def search(self, entity: str, conditions: Sequence[Condition], order: Sequence[SortKey],
                     limit: int | None, sources: Sequence[str] | None = None, whole: bool = False) -> list[Unified]:
        """Search every able source concurrently, re-check in memory, unify, order, limit.

        With `whole` (a list root), when every source asked failed this raises the first failure
        rather than answer an empty list, which would claim there is nothing to list."""
        cap = self.gateway.config.gateway.max_search_rows
        conditions = [self.normalized(entity, c) for c in conditions]
        request = SearchRequest(tuple(conditions), tuple(order), min(limit or cap, cap))
        names = [s for s in self.gateway.sources_for(entity) if sources is None or s in sources]
        names = [s for s in names if getattr(self.gateway.entity_caps(s, entity), "searchable", False)]
        check_conditions(self.gateway.value_limits, names, entity, conditions)
        answers = (await asyncio.gather(*(self._search_one(s, entity, request) for s in names)) if len(names) != 1
                   else [await self._search_one(names[0], entity, request)])  # one source: no task to run it
        if whole and answers and all(error is not None for _, error in answers):
            raise next(error for _, error in answers if error is not None)
        batches = [records for records, _ in answers]
        found = [r for b in batches for r in b if matches(r, conditions)] if conditions else [
            r for b in batches for r in b]
        if order:
            found = sort_records(found, order)
        units = await self.unify(entity, found)
        return units if limit is None else units[:limit]

    async def _search_one(self, source: str, entity: str,
                          request: SearchRequest) -> tuple[list[Record], SourceError | None]:
        """The source's records (none when it failed, the failure recorded in its stats) and its failure."""
        connector = self.gateway.connectors[source]
        records, error = await self._guarded(source, f"{source}.search({entity})", lambda: connector.search(
            entity, request), ("search", entity, repr(request)))
        if error is not None:
            self._stats(source).errors.append(error)
        if len(records) >= self.gateway.config.gateway.max_search_rows:
            self.capped.add((source, entity))  # the source may hold more: an answer over all of it is partial
        return records, error

    def normalized(self, entity: str, condition: Condition) -> Condition:
        """A condition on a match key compares normalized values, as the keys are stored."""
        decl = self.model.entities[entity]
        key = decl.keys.get(condition.field)
        if key is None or condition.field in decl.fields or condition.op not in ("eq", "in"):
            return condition
        region = self.gateway.config.gateway.region
        values = condition.value if condition.op == "in" else [condition.value]
        normal = [n for v in values if (n := normalize(key.normalize, v, region)) is not None]
        if condition.op == "in":
            return Condition(condition.field, "in", normal)
        return Condition(condition.field, "eq", normal[0] if normal else "")

    # -- reporting ----------------------------------------------------------------------------

    def failures(self) -> list[SourceError]:
        return [e for s in self.stats.values() for e in s.errors]

    def record_error(self, error: OnepaneError) -> None:
        source = getattr(error, "source", None)
        if isinstance(error, SourceError) and source:
            self._stats(source).errors.append(error)


def _load_signature(relation: RelationDecl, scoped: bool = False) -> Callable[[Unified], Hashable]:
    """What a parent's loads for `relation` depend on: parents with equal signatures load the same.

    Same-source links (backref, ref) and keys that do not link everywhere (`scoped`) depend on
    which records the parent has; global key links only on its key values, so a hundred posts of
    ten users make ten signatures."""
    by_records = bool(relation.backref or relation.ref or scoped)
    mine = tuple(relation.keys)
    if not by_records and len(mine) == 1:  # the usual key relation: the key's values are the signature
        (key,) = mine

        def by_key(parent: Unified) -> Hashable:
            records = parent.records
            return records[0].keys.get(key, ()) if len(records) == 1 else tuple(parent.key_values(key))

        return by_key

    def signature(parent: Unified) -> Hashable:
        records = parent.records
        head = tuple(r.uid for r in records) if by_records else ()
        if len(records) == 1:
            keys = records[0].keys
            return head, tuple(keys.get(k, ()) for k in mine)
        return head, tuple(tuple(parent.key_values(k)) for k in mine)

    return signature


def _ukey(record: Record) -> tuple[str, str, str]:
    return record.uid


def _dedupe(records: Iterable[Record]) -> list[Record]:
    return list({r.uid: r for r in records}.values())


def _dedupe_units(units: Iterable[Unified]) -> list[Unified]:
    return list({id(u): u for u in units}.values())


def _related_keys(values: Iterable[str], phone: bool) -> list[str]:
    """The values a relation looks up: a phone also by the digits an unreadable copy may hold."""
    if not phone:
        return list(values)
    return list(dict.fromkeys(k for v in values for k in key_match_keys("phone", v)))
