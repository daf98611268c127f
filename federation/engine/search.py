"""Stage *search*: the entities matching conditions, pushed down as far as each source allows.

In: an entity, `Condition`s, `SortKey`s and a limit (from a declared list root, a filter or the
analyst's SQL). Out: `Unified` entities, ordered and limited. Conditions on match keys are
normalized as keys are stored; caller values no source column could hold are refused before any
call (`precheck.py`); every able source is searched at once through the fetch stage; every
condition is applied again in memory (`residual.py`), so a source that filtered less gives the
same answer; the records are unified by the resolve stage. See docs/architecture.md, "One request".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

from federation.config.models import Config
from federation.contract import Condition, EntityCapabilities, SearchRequest, SortKey, ValueLimit
from federation.engine.fetch import Fetcher
from federation.engine.precheck import check_conditions
from federation.engine.residual import matches, sort_records
from federation.engine.resolve import Resolver
from federation.engine.unified import Unified
from federation.keys import normalize
from federation.model.declaration import ModelDecl

__all__ = ["SearchSources", "Searcher"]


class SearchSources(Protocol):
    """What a search reads besides records: the model, which sources search what, their value limits."""

    @property
    def model(self) -> ModelDecl: ...
    @property
    def config(self) -> Config: ...
    @property
    def value_limits(self) -> Mapping[str, Mapping[str, Mapping[str, ValueLimit]]]: ...
    def entity_caps(self, source: str, entity: str) -> EntityCapabilities | None: ...
    def sources_for(self, entity: str, by: str | None = None) -> list[str]: ...


class Searcher:
    """One request's searches."""

    def __init__(self, fetcher: Fetcher, resolver: Resolver, gateway: SearchSources) -> None:
        self.fetcher = fetcher
        self.resolver = resolver
        self.gateway = gateway
        self.model = gateway.model

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
        search_one = self.fetcher.search_one
        answers = (await asyncio.gather(*(search_one(s, entity, request) for s in names)) if len(names) != 1
                   else [await search_one(names[0], entity, request)])  # one source: no task to run it
        if whole and answers and all(error is not None for _, error in answers):
            raise next(error for _, error in answers if error is not None)
        batches = [records for records, _ in answers]
        found = [r for b in batches for r in b if matches(r, conditions)] if conditions else [
            r for b in batches for r in b]
        if order:
            found = sort_records(found, order)
        units = await self.resolver.unify(entity, found)
        return units if limit is None else units[:limit]

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
