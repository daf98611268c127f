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
from datetime import date, datetime, timedelta
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

__all__ = ["TIME", "PurchaseGroup", "PurchaseGroupBy", "PurchaseStats", "check_dimensions", "check_top",
           "purchase_stats", "searched_and_pushed"]

Partial = tuple[str, AggregateRow]  # (source, one row it aggregated)


@strawberry.enum(description="How purchaseStats groups purchases.")
class PurchaseGroupBy(enum.Enum):
    CHANNEL = "CHANNEL"
    SOURCE = "SOURCE"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    STORE = "STORE"
    CUSTOMER = "CUSTOMER"


# Calendar buckets, in time order: a DAY is the date of placedAt, a WEEK its Monday
# (ISO 8601 weeks), a MONTH `YYYY-MM`; purchases without a time fall in "unknown".
TIME = frozenset({PurchaseGroupBy.DAY, PurchaseGroupBy.WEEK, PurchaseGroupBy.MONTH})


@strawberry.type(description="Purchases sharing one group key, with their totals per currency.")
class PurchaseGroup:
    key: str = strawberry.field(description="The group's key; with `thenBy`, both keys joined by ' / '.")
    label: str | None = strawberry.field(description="A readable name for the first key (a customer's or "
                                                     "store's name), when it has one.")
    count: int
    totals: list[MoneyType]
    keys: list[str] = strawberry.field(default_factory=list, description="One key per dimension: groupBy's, "
                                                                         "then thenBy's.")
    labels: list[str | None] = strawberry.field(default_factory=list, description="A readable name per key, "
                                                                                  "when it has one.")


@strawberry.type(description="Purchases grouped across every source.")
class PurchaseStats:
    groups: list[PurchaseGroup]
    purchases: int
    truncated: bool = strawberry.field(description="True when a source hit its row cap: totals are partial.")


@dataclass
class _Bucket:
    labels: list[str | None] = field(default_factory=list)
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


async def _keys(request: Request, units: Sequence[Unified], by: PurchaseGroupBy) -> list[tuple[str, str | None]]:
    if by is PurchaseGroupBy.CHANNEL:
        return [(str(u.values.get("channel") or "UNKNOWN"), None) for u in units]
    if by is PurchaseGroupBy.SOURCE:
        return [(u.records[0].source, None) for u in units]
    if by in TIME:
        return [(_bucket(by, _day(u.values.get("placedAt"))), None) for u in units]
    relation = "store" if by is PurchaseGroupBy.STORE else "customer"
    related = await asyncio.gather(*(request.related(u, relation) for u in units))
    name: Callable[[Unified], str | None] = lambda r: r.values.get("name")  # noqa: E731
    return [((r[0].id, name(r[0])) if r else ("none", None)) for r in related]


def _day(value: Any) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else "unknown"


def _bucket(by: PurchaseGroupBy, day: str) -> str:
    """A day's week (its Monday) or month; the day itself for DAY."""
    if day == "unknown" or by is PurchaseGroupBy.DAY:
        return day
    if by is PurchaseGroupBy.MONTH:
        return day[:7]
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def _group(request: Request, by: PurchaseGroupBy) -> str | None:
    """What a source would group by for `by`; None: only the engine can (identity, relations)."""
    if by is PurchaseGroupBy.CHANNEL:
        return "channel"
    if by is PurchaseGroupBy.SOURCE:
        return ""
    if by in TIME:
        return "day:placedAt"  # a source's day rows add up to weeks and months here
    relation = request.model.entities["Purchase"].relations.get("store")
    if by is PurchaseGroupBy.STORE and relation and relation.ref and not relation.backref and not relation.keys:
        return f"ref:{relation.ref}"  # the store is found by the ref alone, as `related` does
    return None


async def searched_and_pushed(request: Request, conditions: Sequence[Condition], sources: Sequence[str] | None,
                              by: PurchaseGroupBy, then: PurchaseGroupBy | None = None,
                              ) -> tuple[list[Unified], list[Partial]]:
    """Unified purchases of the sources searched, and the rows of those that aggregated their own
    (none with a second dimension: a source groups by one thing, so the engine groups both)."""
    names = [s for s in request.gateway.sources_for("Purchase") if sources is None or s in sources]
    check_conditions(request.gateway.value_limits, names, "Purchase",
                     [request.normalized("Purchase", c) for c in conditions])  # before any call
    group = _group(request, by) if then is None else None
    overrides = await request.gateway.overrides.snapshot()
    pushed = [] if group is None else [s for s in names
                                       if pushable(request.gateway, overrides, "Purchase", s, group, "total")]
    rest = [s for s in names if s not in pushed]
    wanted = AggregateRequest(tuple(request.normalized("Purchase", c) for c in conditions), group or "", "total")
    search = asyncio.ensure_future(request.search("Purchase", conditions, [], None, rest))
    answers = await asyncio.gather(*(aggregate(request.fetcher, s, "Purchase", wanted) for s in pushed))
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
    if by in TIME:
        return [(_bucket(by, row.group.isoformat() if isinstance(row.group, date) else "unknown"), None)
                for _, row in partials]
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


def _ordered(buckets: dict[tuple[str, ...], _Bucket], dims: Sequence[PurchaseGroupBy],
             top: int | None) -> list[tuple[tuple[str, ...], _Bucket]]:
    """Time buckets in time order; every other grouping by spend, highest first (within the first
    dimension when there are two); `top` keeps the highest spenders, ties at the cut included."""
    spend = {k: sum(b.totals.values(), Decimal(0)) for k, b in buckets.items()}
    first: dict[str, Decimal] = defaultdict(Decimal)
    for k, amount in spend.items():
        first[k[0]] += amount

    def rank(k: tuple[str, ...]) -> tuple[Any, ...]:
        out: list[Any] = []
        for i, dim in enumerate(dims):
            weight = first[k[0]] if i == 0 else spend[k]
            out += [k[i]] if dim in TIME else [-weight, k[i]]
        return tuple(out)

    ranked = sorted(buckets.items(), key=lambda kv: rank(kv[0]))
    if top is None or dims[0] in TIME or len(ranked) <= top:
        return ranked
    by_spend = sorted(ranked, key=lambda kv: (-spend[kv[0]], kv[0]))
    cut = spend[by_spend[top - 1][0]]
    return [kv for kv in ranked if spend[kv[0]] >= cut]


def check_top(top: int | None) -> None:
    if top is not None and top < 1:
        raise QueryError("top: must be at least 1", "top")


async def purchase_stats(request: Request, units: Sequence[Unified], by: PurchaseGroupBy,
                         top: int | None, partials: Sequence[Partial] = (),
                         then: PurchaseGroupBy | None = None) -> PurchaseStats:
    """Group unified purchases and sources' partial groups by one or two dimensions; `top` keeps
    the highest spenders, ties included."""
    check_top(top)
    check_dimensions(by, then)
    dims = [by] if then is None else [by, then]
    per_dim = [await _keys(request, units, d) for d in dims]
    buckets: dict[tuple[str, ...], _Bucket] = defaultdict(_Bucket)
    for i, unit in enumerate(units):
        key = tuple(keys[i][0] for keys in per_dim)
        _add(buckets[key], [keys[i][1] for keys in per_dim], 1, unit.values.get("total"))
    for (_, row), (key1, label) in zip(partials, await _row_keys(request, partials, by), strict=True):
        _add(buckets[(key1,)], [label], row.count, row.total)  # partials come only with one dimension
    groups = [PurchaseGroup(key=" / ".join(k), label=b.labels[0], count=b.count,
                            totals=[MoneyType(amount=a, currency=c) for c, a in sorted(b.totals.items())],
                            keys=list(k), labels=list(b.labels))
              for k, b in _ordered(buckets, dims, top)]
    truncated = any(entity == "Purchase" for _, entity in request.capped)
    counted = len(units) + sum(row.count for _, row in partials)
    return PurchaseStats(groups=groups, purchases=counted, truncated=truncated)


def check_dimensions(by: PurchaseGroupBy, then: PurchaseGroupBy | None) -> None:
    if then is not None and then is by:
        raise QueryError(f"thenBy: give a dimension other than groupBy ({by.value}), or leave it out", "thenBy")


def _add(bucket: _Bucket, labels: list[str | None], count: int, total: Any) -> None:
    bucket.labels = [old or new for old, new in zip(bucket.labels, labels, strict=True)] if bucket.labels else labels
    bucket.count += count
    if isinstance(total, Money):
        bucket.totals[total.currency] += total.amount
