"""GraphQL types every entity shares: money, provenance, conflicts, flags, timeline, paging."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from federation.timeline import TimelineOrigin

__all__ = [
    "ComparisonWeight",
    "Conflict",
    "ConflictValue",
    "Flag",
    "MatchExplanation",
    "MoneyType",
    "PageInfo",
    "SourceInfo",
    "SourceRecord",
    "TimelineEntry",
]


@strawberry.type(name="Money", description="An exact amount in one currency.")
class MoneyType:
    amount: Decimal
    currency: str


@strawberry.type(description="One comparison of two scored records: the level reached and what it weighed.")
class ComparisonWeight:
    comparison: str
    level: str | None = strawberry.field(description=(
        "The level reached (`exact`, `one digit`, `close`…); null when either record lacks the value."))
    weight: float = strawberry.field(description="log2(m/u) of that level in bits (0: missing); trained model only.")
    similarity: float | None = strawberry.field(
        default=None, description="Weighted-mean rules without a model: the similarity in 0..1.")
    termFrequencyAdjustment: float = strawberry.field(default=0.0, description=(
        "Bits already in `weight` for agreeing on a common value (a frequent surname): 0 or below."))


@strawberry.type(description=(
    "Why a fuzzy rule linked or suggested two records. With a trained model, `matchWeight` = `prior` + "
    "the comparisons' weights, and `matchProbability` = 2^w / (1 + 2^w)."))
class MatchExplanation:
    rule: str
    other: str = strawberry.field(description="The other record, `source:localId`.")
    matchProbability: float = strawberry.field(description="The rule's score: a probability with a trained model.")
    matchWeight: float | None = strawberry.field(description="Bits of evidence; null without a trained model.")
    prior: float | None = strawberry.field(description="The prior's weight in bits; null without a trained model.")
    comparisons: list[ComparisonWeight]


@strawberry.type(description="One source record behind a unified entity, and why it was linked.")
class SourceRecord:
    source: str
    localId: str
    entity: str
    updatedAt: datetime | None
    linkedBy: list[str] = strawberry.field(
        description="The shared values that joined this record to the others; empty for a lone record."
    )
    matchedBy: list[MatchExplanation] = strawberry.field(
        default_factory=list, description="Fuzzy-rule links of this record to others in the entity, as data.")
    stale: bool = strawberry.field(
        default=False,
        description="Served from the cache because the source failed (older than its TTL), or read from an "
                    "export whose copy is older than the source's max_age.")
    ageSeconds: float | None = strawberry.field(
        default=None, description="Seconds since the record was fetched from its source, or since the export it "
                                  "was read from was made; null when fetched live.")
    asOf: datetime | None = strawberry.field(
        default=None, description="When the export (snapshot) the record was read from was made; null for a "
                                  "record read live from its system.")


@strawberry.type(description="One source's value for a field the sources disagree on.")
class ConflictValue:
    value: str | None
    source: str
    localId: str
    observedAt: datetime | None


@strawberry.type(description="A field whose sources disagree: the chosen value and every value seen.")
class Conflict:
    field: str
    chosen: str | None
    values: list[ConflictValue]


@strawberry.type(description="A warning the data raises, e.g. two deliveries for one order.")
class Flag:
    code: str
    message: str
    # The (entity, field) pairs the flag's condition reads: a role that may not read one of them
    # does not get the flag (federation/security/derived.py).
    reads: strawberry.Private[tuple[tuple[str, str], ...]] = ()


@strawberry.type(description="One event in a customer's history, from any system, newest first.")
class TimelineEntry:
    at: datetime
    kind: str
    channel: str | None
    direction: str | None
    summary: str | None
    waitSeconds: int | None
    source: str
    ref: str = strawberry.field(description="The record behind this entry, as source:localId.")
    # Where each value came from, for the role layer: a rule on a field follows it into the entry.
    origin: strawberry.Private[TimelineOrigin | None] = None


@strawberry.type
class PageInfo:
    hasNextPage: bool
    endCursor: str | None


@strawberry.type(description="A configured source, its connector kind and its health right now.")
class SourceInfo:
    name: str
    kind: str
    ok: bool
    detail: str | None
    entities: list[str]
    latencyMs: float
    breaker: str = strawberry.field(description="Circuit breaker state: closed, open or half_open.")
    errorRate: float = strawberry.field(description="Failed share of the breaker's recent calls, 0 to 1.")
    recentCalls: int = strawberry.field(description="How many recent calls the error rate is over.")
    retriesRefused: int = strawberry.field(
        default=0, description="Retries the source's retry budget refused since the gateway started.")
