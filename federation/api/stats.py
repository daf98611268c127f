"""`purchaseStats`: purchases across every source, grouped and totalled.

Sources are searched with the pushed-down filter; grouping and totals happen here, over unified
purchases, so a purchase two systems know counts once. A source whose purchases the engine could
never merge with another record (`federation/engine/aggregate.py`) counts and totals its own
(`Connector.aggregate`, one GROUP BY in SQL); its groups join the engine's in the same buckets.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from federation.api.types import MoneyType
from federation.contract import AggregateRequest, AggregateRow, Condition
from federation.engine.aggregate import aggregate, pushable
from federation.engine.precheck import check_conditions
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import QueryError
from federation.records import Money

__all__ = ["PurchaseGroup", "PurchaseGroupBy", "PurchaseStats", "check_top", "purchase_stats", "searched_and_pushed"]

Partial = tuple[str, AggregateRow]  # (source, one row it aggregated)


@strawberry.enum(description="How purchaseStats groups purchases.")
class PurchaseGroupBy(enum.Enum):
    CHANNEL = "CHANNEL"
    SOURCE = "SOURCE"
    DAY = "DAY"
    STORE = "STORE"
    CUSTOMER = "CUSTOMER"


@strawberry.type(description="Purchases sharing one group key, with their totals per currency.")
class PurchaseGroup:
    key: str
    label: str | None
    count: int
    totals: list[MoneyType]


@strawberry.type(description="Purchases grouped across every source.")
class PurchaseStats:
    groups: list[PurchaseGroup]
    purchases: int
    truncated: bool = strawberry.field(description="True when a source hit its row cap: totals are partial.")


@dataclass
class _Bucket:
    label: str | None = None
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


async def _keys(request: Request, units: Sequence[Unified], by: PurchaseGroupBy) -> list[tuple[str, str | None]]:
    if by is PurchaseGroupBy.CHANNEL:
        return [(str(u.values.get("channel") or "UNKNOWN"), None) for u in units]
    if by is PurchaseGroupBy.SOURCE:
        return [(u.records[0].source, None) for u in units]
    if by is PurchaseGroupBy.DAY:
        return [(_day(u.values.get("placedAt")), None) for u in units]
    relation = "store" if by is PurchaseGroupBy.STORE else "customer"
    related = await asyncio.gather(*(request.related(u, relation) for u in units))
    name: Callable[[Unified], str | None] = lambda r: r.values.get("name")  # noqa: E731
    return [((r[0].id, name(r[0])) if r else ("none", None)) for r in related]


def _day(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else "unknown"


def _group(request: Request, by: PurchaseGroupBy) -> str | None:
    """What a source would group by for `by`; None: only the engine can (identity, relations)."""
    if by is PurchaseGroupBy.CHANNEL:
        return "channel"
    if by is PurchaseGroupBy.SOURCE:
        return ""
    if by is PurchaseGroupBy.DAY:
        return "day:placedAt"
    relation = request.model.entities["Purchase"].relations.get("store")
    if by is PurchaseGroupBy.STORE and relation and relation.ref and not relation.backref and not relation.keys:
        return f"ref:{relation.ref}"  # the store is found by the ref alone, as `related` does
    return None


async def searched_and_pushed(request: Request, conditions: Sequence[Condition], sources: Sequence[str] | None,
                              by: PurchaseGroupBy) -> tuple[list[Unified], list[Partial]]:
    """Unified purchases of the sources searched, and the rows of those that aggregated their own."""
    names = [s for s in request.gateway.sources_for("Purchase") if sources is None or s in sources]
    check_conditions(request.gateway.value_limits, names, "Purchase",
                     [request.normalized("Purchase", c) for c in conditions])  # before any call
    group = _group(request, by)
    overrides = await request.gateway.overrides.snapshot()
    pushed = [] if group is None else [s for s in names if pushable(request, overrides, "Purchase", s, group, "total")]
    rest = [s for s in names if s not in pushed]
    wanted = AggregateRequest(tuple(request.normalized("Purchase", c) for c in conditions), group or "", "total")
    search = asyncio.ensure_future(request.search("Purchase", conditions, [], None, rest))
    answers = await asyncio.gather(*(aggregate(request, s, "Purchase", wanted) for s in pushed))
    searched = await search
    fallback = [s for s, rows in zip(pushed, answers, strict=True) if rows is None]
    if fallback:  # these sources' purchases never merge with the others': unifying them apart is the same
        searched += await request.search("Purchase", conditions, [], None, fallback)
    partials = [(s, row) for s, rows in zip(pushed, answers, strict=True) for row in rows or ()]
    return searched, partials


async def _row_keys(request: Request, partials: Sequence[Partial],
                    by: PurchaseGroupBy) -> list[tuple[str, str | None]]:
    if by is PurchaseGroupBy.CHANNEL:
        return [(str(row.group or "UNKNOWN"), None) for _, row in partials]
    if by is PurchaseGroupBy.SOURCE:
        return [(source, None) for source, _ in partials]
    if by is PurchaseGroupBy.DAY:
        return [(row.group.isoformat() if isinstance(row.group, date) else "unknown", None) for _, row in partials]
    relation = request.model.entities["Purchase"].relations["store"]
    refs = {(s, row.group) for s, row in partials if row.group}
    found = dict(zip(refs, await asyncio.gather(*(_referenced(request, relation.entity, s, v) for s, v in refs)),
                     strict=True))
    return [found.get((s, row.group), ("none", None)) for s, row in partials]


async def _referenced(request: Request, entity: str, source: str, local_id: str) -> tuple[str, str | None]:
    """The unified entity a same-source ref points at, as `Request.related` finds it."""
    if source not in request.gateway.sources_for(entity, "id"):
        return "none", None
    records = [r for r in await request.lookup(entity, "id", [local_id], [source], caller=False)
               if r.source == source and r.local_id == local_id]
    units = request.ordered(entity, await request.unify(entity, records)) if records else []
    return (units[0].id, units[0].values.get("name")) if units else ("none", None)


def _ordered(buckets: dict[str, _Bucket], by: PurchaseGroupBy, top: int | None) -> list[tuple[str, _Bucket]]:
    """Days in time order; every other grouping by spend, highest first, ties kept at the cut."""
    if by is PurchaseGroupBy.DAY:
        return sorted(buckets.items())
    spend = {k: sum(b.totals.values(), Decimal(0)) for k, b in buckets.items()}
    ranked = sorted(buckets.items(), key=lambda kv: (-spend[kv[0]], kv[0]))
    if top is None or len(ranked) <= top:
        return ranked
    cut = spend[ranked[top - 1][0]]
    return [kv for kv in ranked if spend[kv[0]] >= cut]


def check_top(top: int | None) -> None:
    if top is not None and top < 1:
        raise QueryError("top: must be at least 1", "top")


async def purchase_stats(request: Request, units: Sequence[Unified], by: PurchaseGroupBy,
                         top: int | None, partials: Sequence[Partial] = ()) -> PurchaseStats:
    """Group unified purchases and sources' partial groups; `top` keeps the highest spenders, ties included."""
    check_top(top)
    keys = await _keys(request, units, by)
    buckets: dict[str, _Bucket] = defaultdict(_Bucket)
    for unit, (key, label) in zip(units, keys, strict=True):
        _add(buckets[key], label, 1, unit.values.get("total"))
    for (_, row), (key, label) in zip(partials, await _row_keys(request, partials, by), strict=True):
        _add(buckets[key], label, row.count, row.total)
    groups = [PurchaseGroup(key=k, label=b.label, count=b.count,
                            totals=[MoneyType(amount=a, currency=c) for c, a in sorted(b.totals.items())])
              for k, b in _ordered(buckets, by, top)]
    truncated = any(entity == "Purchase" for _, entity in request.capped)
    counted = len(units) + sum(row.count for _, row in partials)
    return PurchaseStats(groups=groups, purchases=counted, truncated=truncated)


def _add(bucket: _Bucket, label: str | None, count: int, total: Any) -> None:
    bucket.label = bucket.label or label
    bucket.count += count
    if isinstance(total, Money):
        bucket.totals[total.currency] += total.amount
