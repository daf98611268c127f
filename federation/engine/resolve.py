"""Stage *resolve*: which records are one real thing (identity), and their unified entities.

In: seed `Record`s of one entity (what a lookup, search or relation found). Out: `Unified`
entities (built by the merge stage, `federation/engine/unified.py`), each record explained by
what linked it, plus the fuzzy links made (`link_scores`) and the pairs only suggested
(`possible_matches`).

The steps, in order: expand the seeds over the entity's linking keys and must-link overrides
for up to `gateway.max_hops` rounds (hop lookups go through the fetch stage, batched); ask for
blocking candidates of fuzzy rules; score pairs (`federation/identity/matching.py`); cluster
with overrides first, then keys, shared-risk keys, auto-links (`federation/engine/identity.py`);
merge each cluster; keep what scored between `suggest` and `link` as suggestions. An entity
nothing can link skips all of it: one unit per record; so do seeds whose linking values need no
lookup (unique in their source, no other source in scope) and that share none among themselves.
See docs/architecture.md, "One request".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Protocol

from federation.config.models import Config
from federation.contract import EntityCapabilities, SearchRequest
from federation.engine.fetch import Fetcher, dedupe
from federation.engine.identity import Cluster, Edge, cluster_records, linking_pairs
from federation.engine.residual import matches
from federation.engine.unified import Unified, dedupe_units, lone, merge
from federation.identity.fellegi import IdentityModel
from federation.identity.matching import BlockQuery, Match, block_queries, can_filter, scored_pairs
from federation.identity.overrides import Overrides, OverrideStore
from federation.identity.scope import Scopes
from federation.identity.scoring import Score
from federation.model.declaration import EntityDecl, ModelDecl
from federation.model.identity import IdentityDecl
from federation.records import Record, SourceRef, parse_source_ref

__all__ = ["IdentitySources", "PossibleMatch", "Resolver"]

Uid = tuple[str, str, str]


class IdentitySources(Protocol):
    """What identity reads besides records: the model, which sources hold what, key scopes,
    overrides and trained models, `max_hops` (the gateway is one; nothing per request)."""

    @property
    def model(self) -> ModelDecl: ...
    @property
    def config(self) -> Config: ...
    @property
    def connectors(self) -> Mapping[str, object]: ...
    @property
    def source_order(self) -> Mapping[str, int]: ...
    @property
    def overrides(self) -> OverrideStore: ...
    @property
    def identity_warnings(self) -> Mapping[str, str]: ...
    @property
    def identity_models(self) -> Mapping[str, IdentityModel]: ...
    @property
    def scopes(self) -> Scopes: ...
    def entity_caps(self, source: str, entity: str) -> EntityCapabilities | None: ...
    def sources_for(self, entity: str, by: str | None = None) -> list[str]: ...
    def key_sources(self, entity: str, key: str, source: str) -> list[str]: ...


class PossibleMatch:
    """Another unified entity a fuzzy rule scored as maybe the same, and why."""

    __slots__ = ("pair", "reasons", "score", "unit")

    def __init__(self, unit: Unified, score: float, reasons: tuple[str, ...],
                 pair: tuple[Record, Score] | None = None) -> None:
        self.unit, self.score, self.reasons = unit, score, reasons
        self.pair = pair  # the other side's record that scored best, and its score


class Resolver:
    """One request's identity work; units are remembered per record for the request."""

    def __init__(self, fetcher: Fetcher, gateway: IdentitySources) -> None:
        self.fetcher = fetcher
        self.gateway = gateway
        self.model = gateway.model
        self.units: dict[Uid, Unified] = {}  # every record this request unified → its unit
        self._link_scores: dict[Uid, list[tuple[Record, Score]]] = {}
        self._possible: dict[int, dict[int, PossibleMatch]] = {}

    async def unify(self, entity: str, seeds: Sequence[Record],
                    answered: Iterable[tuple[str, str, str]] = ()) -> list[Unified]:
        """Expand `seeds` over the configured hops, add fuzzy candidates, cluster, merge.

        Overrides apply before clustering (never-link beats any key, must-link joins); fuzzy
        pairs at or above a rule's `link` join only where the rule says `autoLink`, the rest
        at or above `suggest` become `possible_matches` of the unified entity. `answered`: the
        (key, value, source) lookups whose every record is among `seeds` (the lookup that found
        them), which a hop would only ask again.
        """
        decl = self.model.entities[entity]
        known = [self.units.get(r.uid) for r in seeds]
        if all(known):
            return dedupe_units(u for u in known if u is not None)
        overrides = await self.gateway.overrides.snapshot()
        fuzzy = decl.identity if decl.identity is not None and decl.identity.rules \
            and entity not in self.gateway.identity_warnings else None
        if fuzzy is None and not overrides.about(entity) and (not decl.linking_keys or self._apart(entity, seeds)):
            return self._lone_units(decl, entity, seeds)
        # The seeds' blocking values are asked while the keys expand; the rest's afterwards.
        early = asyncio.ensure_future(self._candidates(entity, fuzzy, seeds)) if fuzzy else None
        records = await self._expand(entity, seeds, overrides, {}, answered)
        mine = list(records.values())
        found_pairs: list[Match] = []
        if fuzzy is not None and early is not None:
            asked = set(seeds)
            later = await self._candidates(entity, fuzzy, [r for r in mine if r not in asked])
            found = dedupe([*await early, *later])
            model = self.gateway.identity_models.get(entity)
            bucket = self.gateway.scopes.bucketer(entity)
            first = scored_pairs(fuzzy, decl, mine, [r for r in found if r.uid not in records], model, bucket)
            near = [r for m in first for r in (m.a, m.b) if r.uid not in records]
            everything = {**records, **await self._expand(entity, near, overrides, records)}
            found_pairs = scored_pairs(fuzzy, decl, mine, list(everything.values()), model, bucket)
        else:
            everything = records
        clusters = self._cluster(entity, list(everything.values()), overrides, found_pairs)
        units: dict[Record, Unified] = {}
        for cluster in clusters:
            unit = merge(decl, entity, cluster.records, cluster.linked_by, self.gateway.source_order)
            units.update(dict.fromkeys(cluster.records, unit))
            if any(r.uid in records for r in cluster.records):
                for record in cluster.records:
                    self.units.setdefault(record.uid, unit)
        self._suggest(units, found_pairs, overrides)
        return dedupe_units(self.units[r.uid] for r in seeds)

    def _lone_units(self, decl: EntityDecl, entity: str, seeds: Sequence[Record]) -> list[Unified]:
        """Nothing can link records of this entity (no linking key, no rule, no override): each
        record is its own unit, with nothing to expand, cluster or explain. The hot path of plain
        entities (lines, events, posts): one cached view per record, no per-record identity work."""
        units = self.units
        out: list[Unified] = []
        for record in seeds:
            unit = units.get(record.uid)
            if unit is None:
                unit = units[record.uid] = lone(decl, entity, record)
            out.append(unit)
        return dedupe_units(out)

    def _apart(self, entity: str, seeds: Sequence[Record]) -> bool:
        """True when the linking keys can join no seed to any record: none of their values is
        to be asked anywhere (each is unique in its own source and its scope reaches no other
        source that looks it up: `Gateway.key_sources`) and no two seeds share a value in one
        scope. Then expanding and clustering would only confirm one unit per record, so they
        are skipped; two seeds that do share a value (a key declared unique that is not) still
        go the whole way and are merged."""
        key_sources = self.gateway.key_sources
        bucket = self.gateway.scopes.bucketer(entity)
        keys = self.model.entities[entity].linking_keys
        seen: set[tuple[str, str, str]] = set()
        where_of: dict[tuple[str, str], str | None] = {}  # (key, source) → its bucket; None: asked elsewhere
        for record in {r.uid: r for r in seeds}.values():
            found = record.keys
            for key in keys:
                values = found.get(key)
                if not values:
                    continue
                at = (key, record.source)
                if at in where_of:
                    where = where_of[at]
                else:  # the same for every record of the source: worked out once per call
                    where = where_of[at] = None if key_sources(entity, key, record.source) else bucket(*at)
                if where is None:
                    return False
                for value in values:
                    if (key, where, value) in seen:
                        return False
                    seen.add((key, where, value))
        return True

    async def _expand(self, entity: str, seeds: Iterable[Record], overrides: Overrides,
                      have: Mapping[Uid, Record], known: Iterable[tuple[str, str, str]] = ()) -> dict[Uid, Record]:
        """`seeds` plus every record their linking keys and must-link overrides reach within the hops
        (`known`: lookups already answered, with every record they found among `seeds`)."""
        decl = self.model.entities[entity]
        records = {r.uid: r for r in seeds if r.uid not in have}
        asked: set[tuple[str, str, str]] = set(known)
        frontier = [r for r in records.values() if r.uid not in self.units]
        lookup = self.fetcher.lookup
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
            batches = await asyncio.gather(*(lookup(entity, f"key:{k}", [v], [s], caller=False)
                                             for k, v, s in pairs),
                                           *(lookup(entity, "id", [ref.local_id], [ref.source], caller=False)
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
        return dedupe(r for batch in batches for r in batch)

    async def _block_lookup(self, source: str, entity: str, query: BlockQuery) -> list[Record]:
        loader = self.fetcher.loader(source, entity, f"key:{query.parts[0]}")
        found = await asyncio.gather(*(loader.load(str(v)) for v in query.values[0]))
        return [r for batch in found if len(batch) <= query.max_block for r in batch]

    async def _block_search(self, source: str, entity: str, query: BlockQuery) -> list[Record]:
        conditions = query.conditions()
        request = SearchRequest(tuple(conditions), (), self.gateway.config.gateway.max_search_rows)
        found = [r for r in (await self.fetcher.search_one(source, entity, request))[0] if matches(r, conditions)]
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
                if self.units.get(unit.records[0].uid) is not unit:
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
        if self.units.get(unit.records[0].uid) is not unit:
            unit = (await self.unify(unit.entity, list(unit.records)))[0]
        return sorted(self._possible.get(id(unit), {}).values(), key=lambda p: -p.score)

    async def get(self, entity: str, ref: SourceRef) -> Unified | None:
        """The unified entity that holds the record `ref`; None when no such record."""
        if ref.source not in self.gateway.connectors:
            return None
        if "id" not in getattr(self.gateway.entity_caps(ref.source, entity), "lookups", ()):
            return None
        records = await self.fetcher.lookup(entity, "id", [ref.local_id], [ref.source])
        units = await self.unify(entity, records)
        return units[0] if units else None

    async def find(self, entity: str, key: str, values: Sequence[str]) -> list[Unified]:
        """Unified entities with any of `values` for match key `key`.

        Every source that looks the key up was asked for every value, and all they found are the
        seeds: the hops need not ask those again (the c360 customer's shop and POS records, found
        by email, would each ask the other's source for the same email)."""
        by = f"key:{key}"
        seeds = await self.fetcher.lookup(entity, by, values)
        asked = [(key, v, s) for s in self.gateway.sources_for(entity, by) for v in values]
        return await self.unify(entity, seeds, answered=asked)
