"""Stage *relate*: the entities a relation points at, for a whole level of parents at once.

In: parent `Unified` entities (all of one entity) and a relation name from the model. Out: per
parent, the related `Unified` entities in the target's timeline order. The loads (by `backref`,
`ref` or shared `keys`) go through the fetch stage's batch loaders, so a level of a hundred
parents costs one call per source; the children are unified once, by the resolve stage, and
parents whose loads are alike share one answer. See docs/architecture.md, "One request".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Protocol

from federation.engine.fetch import Fetcher, dedupe
from federation.engine.resolve import Resolver
from federation.engine.unified import Unified, dedupe_units
from federation.identity.scope import Scopes
from federation.keys import key_match_keys
from federation.model.declaration import EntityDecl, ModelDecl, RelationDecl
from federation.records import Record

__all__ = ["RelationSources", "Relator", "ordered"]

Loads = Callable[[Unified], list[asyncio.Future[list[Record]]]]


class RelationSources(Protocol):
    """What relations read besides records: the model, which sources look up what, key scopes."""

    @property
    def model(self) -> ModelDecl: ...
    @property
    def scopes(self) -> Scopes: ...
    def sources_for(self, entity: str, by: str | None = None) -> list[str]: ...
    def relation_scoped(self, entity: str, keys: Mapping[str, str], target: str) -> bool: ...


class Relator:
    """One request's relation loads: per relation, worked out once and reused for every parent."""

    def __init__(self, fetcher: Fetcher, resolver: Resolver, gateway: RelationSources) -> None:
        self.fetcher = fetcher
        self.resolver = resolver
        self.gateway = gateway
        self.model = gateway.model
        self._load_fns: dict[int, Loads] = {}

    async def related(self, parent: Unified, name: str) -> list[Unified]:
        """The entities `parent`'s relation `name` points at (batched with sibling parents).

        `related_many` for one parent, so one rule decides which children a parent has and in what
        order, whether a resolver asks per parent or the compiled path per level."""
        return (await self.related_many([parent], name))[0]

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
        results = await _results([f for loads in distinct.values() for f in loads])
        grouped: dict[Hashable, list[Record]] = {}
        start = 0
        for signature, loads in distinct.items():
            grouped[signature] = dedupe(r for batch in results[start:start + len(loads)] for r in batch)
            start += len(loads)
        await self.resolver.unify(relation.entity, dedupe(r for records in grouped.values() for r in records))
        units = self.resolver.units
        target = self.model.entities[relation.entity]
        answers = {signature: ordered(target, dedupe_units(units[r.uid] for r in records if r.uid in units))
                   for signature, records in grouped.items()}
        return [answers[signature] for signature in signatures]  # parents that loaded alike share one list

    def _relation_loads(self, relation: RelationDecl) -> Loads:
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
        loader = self.fetcher.loader
        by_key = [(mine, theirs, [(s, loader(s, target, f"key:{theirs}"))
                                  for s in self.gateway.sources_for(target, f"key:{theirs}")],
                   getattr(keys.get(theirs), "normalize", None) == "phone")
                  for mine, theirs in relation.keys.items()]
        scopes = self.gateway.scopes
        gateway = self.gateway  # not `self`: this function is kept in self._load_fns (a cycle outlives the request)

        def loads(parent: Unified) -> list[asyncio.Future[list[Record]]]:
            out: list[asyncio.Future[list[Record]]] = []
            records = parent.records
            if backref:
                out += [loader(r.source, target, backref).load(r.local_id)
                        for r in records if r.source in backref_sources]
            if ref:
                for record in records:
                    local = record.refs.get(ref)
                    if local and record.source in id_sources:
                        out.append(loader(record.source, target, "id").load(local))
            scoped = gateway.relation_scoped(parent.entity, relation.keys, target)
            for mine, theirs, loaders, phone in by_key:
                if scoped:  # each record's values only to the sources both keys' scopes link it to
                    out += [load.load(value) for r in records for value in _related_keys(r.keys.get(mine, ()), phone)
                            for s, load in loaders if scopes.relation_links(parent.entity, mine, r.source,
                                                                            target, theirs, s)]
                    continue
                values = records[0].keys.get(mine, ()) if len(records) == 1 else parent.key_values(mine)
                out += [load.load(value) for value in _related_keys(values, phone) for _, load in loaders]
            return out

        self._load_fns[id(relation)] = loads  # the model's relation objects live as long as the gateway
        return loads


async def _results(loads: list[asyncio.Future[list[Record]]]) -> list[list[Record]]:
    """Each load's records, in order, as `gather` gives them, one event-loop pass sooner: the loads
    are batched and under way already, so awaiting them one after another waits no longer."""
    try:
        return [await load for load in loads]
    except BaseException:
        for load in loads:  # as gather does: a load failing later is not logged as never retrieved
            load.add_done_callback(_retrieve)
        raise


def _retrieve(load: asyncio.Future[list[Record]]) -> None:
    if not load.cancelled():
        load.exception()


def ordered(decl: EntityDecl, units: list[Unified]) -> list[Unified]:
    """Units in the entity's timeline order (newest first, undated last); as given without one."""
    timeline = decl.timeline
    if timeline is None:
        return units
    dated = [u for u in units if u.values.get(timeline.at) is not None]
    undated = [u for u in units if u.values.get(timeline.at) is None]
    return sorted(dated, key=lambda u: u.values[timeline.at], reverse=True) + undated


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


def _related_keys(values: Iterable[str], phone: bool) -> list[str]:
    """The values a relation looks up: a phone also by the digits an unreadable copy may hold."""
    if not phone:
        return list(values)
    return list(dict.fromkeys(k for v in values for k in key_match_keys("phone", v)))
