"""`purchaseStats`: purchases across every source, grouped and totalled by the engine.

Sources are searched with the pushed-down filter; grouping and totals happen here, over unified
purchases, so a purchase two systems know counts once.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry

from federation.api.types import MoneyType
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import QueryError
from federation.records import Money

__all__ = ["PurchaseGroup", "PurchaseGroupBy", "PurchaseStats", "purchase_stats"]


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


async def purchase_stats(request: Request, units: Sequence[Unified], by: PurchaseGroupBy,
                         top: int | None) -> PurchaseStats:
    """Group unified purchases; `top` keeps the highest-spending groups, ties included."""
    if top is not None and top < 1:
        raise QueryError("top: must be at least 1", "top")
    cap = request.gateway.config.gateway.max_search_rows
    keys = await _keys(request, units, by)
    buckets: dict[str, _Bucket] = defaultdict(_Bucket)
    for unit, (key, label) in zip(units, keys, strict=True):
        bucket = buckets[key]
        bucket.label = bucket.label or label
        bucket.count += 1
        total = unit.values.get("total")
        if isinstance(total, Money):
            bucket.totals[total.currency] += total.amount
    groups = [PurchaseGroup(key=k, label=b.label, count=b.count,
                            totals=[MoneyType(amount=a, currency=c) for c, a in sorted(b.totals.items())])
              for k, b in _ordered(buckets, by, top)]
    truncated = any(s.records >= cap for s in request.stats.values())
    return PurchaseStats(groups=groups, purchases=len(units), truncated=truncated)
