"""One request's state, and the stages it wires: fetch → resolve → merge, relate, search.

`Request` holds nothing but the stage objects of one GraphQL request (never shared between
requests) and answers the API layer's questions by handing each to the stage that owns it:

- `federation/engine/fetch.py`   *fetch*: guarded, cached, batched connector calls; per-source stats
- `federation/engine/resolve.py` *resolve*: identity (keys, hops, rules, overrides, clusters, suggestions)
- `federation/engine/unified.py` *merge*: units, survivorship, conflicts
- `federation/engine/relate.py`  *relate*: relations for a whole level of parents at once
- `federation/engine/search.py`  *search*: pushdown and residual filters

No stage imports this module; each takes the narrow objects it needs (the fetcher, the resolver,
the gateway). See docs/architecture.md, "One request".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any

from federation.contract import Condition, SortKey
from federation.engine.fetch import Fetcher, Freshness
from federation.engine.gateway import Gateway
from federation.engine.relate import Relator, ordered
from federation.engine.resolve import PossibleMatch, Resolver
from federation.engine.search import Searcher
from federation.engine.unified import Unified
from federation.errors import OnepaneError, SourceError
from federation.identity.scoring import Score
from federation.records import Record, SourceRef

__all__ = ["Freshness", "PossibleMatch", "Request"]


class Request:
    """State for one GraphQL request; never shared between requests."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.model = gateway.model
        self.fetcher = Fetcher(gateway)
        self.resolver = Resolver(self.fetcher, gateway)
        self.relator = Relator(self.fetcher, self.resolver, gateway)
        self.searcher = Searcher(self.fetcher, self.resolver, gateway)
        self.stats = self.fetcher.stats  # what `extensions.sources` reports
        self.deadline = self.fetcher.deadline
        self.capped = self.fetcher.capped  # (source, entity) searches that hit max_search_rows
        # What the API layer keeps for this request, opaque to the engine (the caller's policy, how a
        # walk-in matched each customer): both execution paths share one Request, so one place.
        self.notes: dict[str, Any] = {}

    @property
    def on_first_answer(self) -> Callable[[], None] | None:
        """Called once, when the first source call of this request returns (answered or failed)."""
        return self.fetcher.on_first_answer

    @on_first_answer.setter
    def on_first_answer(self, callback: Callable[[], None] | None) -> None:
        self.fetcher.on_first_answer = callback

    # -- fetch --------------------------------------------------------------------------------

    async def guarded(self, source: str, what: str, call: Callable[[], Awaitable[Any]],
                      key: Hashable | None) -> tuple[Any, SourceError | None]:
        return await self.fetcher.guarded(source, what, call, key)

    async def lookup(self, entity: str, by: str, values: Iterable[str], sources: Iterable[str] | None = None,
                     caller: bool = True) -> list[Record]:
        return await self.fetcher.lookup(entity, by, values, sources, caller)

    def freshness(self, record: Record) -> Freshness:
        return self.fetcher.freshness(record)

    def failures(self) -> list[SourceError]:
        return self.fetcher.failures()

    def record_error(self, error: OnepaneError) -> None:
        self.fetcher.record_error(error)

    # -- resolve (and merge) ------------------------------------------------------------------

    async def unify(self, entity: str, seeds: Sequence[Record]) -> list[Unified]:
        return await self.resolver.unify(entity, seeds)

    async def get(self, entity: str, ref: SourceRef) -> Unified | None:
        return await self.resolver.get(entity, ref)

    async def find(self, entity: str, key: str, values: Sequence[str]) -> list[Unified]:
        return await self.resolver.find(entity, key, values)

    def link_scores(self, record: Record) -> list[tuple[Record, Score]]:
        return self.resolver.link_scores(record)

    async def possible_matches(self, unit: Unified) -> list[PossibleMatch]:
        return await self.resolver.possible_matches(unit)

    async def fuzzy_candidates(self, entity: str, records: Sequence[Record]) -> list[Record]:
        return await self.resolver.fuzzy_candidates(entity, records)

    # -- relate -------------------------------------------------------------------------------

    async def related(self, parent: Unified, name: str) -> list[Unified]:
        return await self.relator.related(parent, name)

    async def related_many(self, parents: Sequence[Unified], name: str) -> list[list[Unified]]:
        return await self.relator.related_many(parents, name)

    def ordered(self, entity: str, units: list[Unified]) -> list[Unified]:
        return ordered(self.model.entities[entity], units)

    # -- search -------------------------------------------------------------------------------

    async def search(self, entity: str, conditions: Sequence[Condition], order: Sequence[SortKey],
                     limit: int | None, sources: Sequence[str] | None = None, whole: bool = False) -> list[Unified]:
        return await self.searcher.search(entity, conditions, order, limit, sources, whole)

    def normalized(self, entity: str, condition: Condition) -> Condition:
        return self.searcher.normalized(entity, condition)
