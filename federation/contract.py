"""The connector contract, owned by the core: two batched verbs plus capabilities and lifecycle.

Lookup keys are named by kind: `id` (the source's local id), `key:<name>` (a match key of the
model, values already normalized) and `ref:<name>` (a same-source reference, a local id).

One optional verb, `aggregate`, counts and totals records in the source; the engine calls it only
where it has proved no record of that source could be unified with another (engine/aggregate.py).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

from federation.drafts import DraftError, DraftRequest
from federation.model.declaration import ModelDecl
from federation.records import Record

__all__ = [
    "OPS",
    "SCAN_ROWS",
    "AggregateRequest",
    "AggregateRow",
    "Capabilities",
    "Condition",
    "Connector",
    "ConnectorContext",
    "DataAge",
    "EntityCapabilities",
    "Health",
    "Op",
    "SearchRequest",
    "SortKey",
    "TrinoView",
    "ValueLimit",
]

Op = Literal["eq", "in", "gt", "gte", "lt", "lte", "prefix", "contains"]
OPS: tuple[Op, ...] = ("eq", "in", "gt", "gte", "lt", "lte", "prefix", "contains")
SCAN_ROWS = 10_000  # a lookup that reads every row of a larger table is worth an index


@dataclass(frozen=True, slots=True)
class Condition:
    """`field op value` on a unified field or match key; string matches ignore case."""

    field: str
    op: Op
    value: Any

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown operator '{self.op}'; valid: {', '.join(OPS)}")


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """Filter, order and limit; a connector pushes down what its capabilities declare."""

    conditions: tuple[Condition, ...] = ()
    order: tuple[SortKey, ...] = ()
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class AggregateRequest:
    """Count the records matching every condition and total one Money field, per group.

    `group` names what the rows are grouped by: `""` (one group), a unified field (`channel`),
    `day:<DateTime field>` (its date, in the value's own zone) or `ref:<name>` (a same-source ref).
    """

    conditions: tuple[Condition, ...]
    group: str
    total: str


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """Records sharing one group value (as their records would carry it), and their total.

    A group may come back in several rows (one per currency, say); the engine adds them up.
    """

    group: Any
    count: int
    total: Any = None  # Money, or None when none of these records has a total


@dataclass(frozen=True, slots=True)
class EntityCapabilities:
    """What a source can do for one entity.

    `keys`: the match keys its records can carry (None: unknown, any). `unique_keys`: the keys
    whose value names at most one of its records (the mapping's `unique: true`), which identity
    never looks up again in this source. `aggregates` and `sums`: the groups and Money fields
    `aggregate` serves.
    """

    lookups: frozenset[str] = frozenset()
    filters: Mapping[str, frozenset[Op]] = field(default_factory=dict)
    sortable: frozenset[str] = frozenset()
    searchable: bool = True
    keys: frozenset[str] | None = None
    unique_keys: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    sums: frozenset[str] = frozenset()

    def pushes(self, condition: Condition) -> bool:
        return condition.op in self.filters.get(condition.field, frozenset())


@dataclass(frozen=True, slots=True)
class Capabilities:
    entities: Mapping[str, EntityCapabilities]


@dataclass(frozen=True, slots=True)
class ValueLimit:
    """The largest value a source's column for one field or key can hold: a longer text or a larger
    number can never match there, and sent anyway it may make the source fail."""

    max_length: int | None = None
    max_abs: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """A probe's answer. `mapping_fault`: the source answered, but what the mapping reads is not
    there (a dropped table or column, a revoked grant): no retry fixes it, so the gateway is not
    ready, unlike a source that is merely unreachable for a while."""

    ok: bool
    detail: str = ""
    mapping_fault: bool = False


@dataclass(frozen=True, slots=True)
class DataAge:
    """How old the data a source serves is, for sources that serve a copy (an export file): the
    time the copy was made, and the age past which its records are served as stale."""

    as_of: datetime
    max_age: float | None = None

    def age(self, now: datetime | None = None) -> float:
        return max(0.0, ((now or datetime.now(UTC)) - self.as_of).total_seconds())

    def stale(self, now: datetime | None = None) -> bool:
        return self.max_age is not None and self.age(now) > self.max_age

    def as_json(self) -> dict[str, Any]:
        """`asOf`, `ageSeconds`, `maxAge` and `pastMaxAge`, as `extensions.sources` and `/readyz`
        report them (not `stale`: there it counts records served from a stale cache)."""
        return {"asOf": self.as_of.isoformat(), "ageSeconds": round(self.age(), 1), "maxAge": self.max_age,
                "pastMaxAge": self.stale()}


@dataclass(frozen=True, slots=True)
class TrinoView:
    """How Trino reads one entity of a source directly (`federation sql --emit-trino`).

    `relation` is the table in the source's own catalog (`schema.table`, quoted); `columns` are
    Trino SQL expressions over it, read as `t."column"`, named `id` (the local id), `field:<name>`
    (`field:<name>.amount` and `.currency` for Money), `key:<name>` (the key's value before its
    normalizer), `ref:<name>` (a referenced record's local id) and `updated_at`. `kept` names what Trino cannot
    compute the way Onepane does, with why: those stay in Onepane.
    """

    relation: str
    columns: Mapping[str, str]
    kept: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the gateway gives a connector: the unified model, a folder for relative paths."""

    model: ModelDecl
    base_dir: Path
    region: str = "GB"


class Connector(abc.ABC):
    """A source of records. Subclass `connectors.sdk.BaseConnector` rather than this."""

    kind: ClassVar[str] = "custom"
    # Import kinds `federation import KIND TARGET` may ask this class to `draft` (e.g. "sql").
    drafts: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, options: Any, context: ConnectorContext) -> None:
        self.name = name
        self.context = context

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> Any:
        """Check this connector's options; raise pydantic.ValidationError or ValueError."""
        return dict(options)

    @classmethod
    async def draft(cls, kind: str, request: DraftRequest) -> str:
        """Optional: a draft `sources:` block (YAML text with comments) read from `request.target`.

        Offered for each kind in `drafts`; raise DraftError with one message naming what failed.
        """
        raise DraftError(f"the {cls.kind} connector drafts no '{kind}' imports")

    @abc.abstractmethod
    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        """Every record of `entity` whose `by` key is any of `values`, in one batched call."""

    async def lookup_many(self, entity: str, wanted: Mapping[str, Sequence[str]]) -> Sequence[Record]:
        """Several lookups of one entity at once (`{by: values}`): every record any of them finds.

        The engine sends the lookups of one source and entity that fall in the same tick here.
        The default makes one `lookup` call per key, so a connector overrides it only when its
        source can answer them together (one SQL statement with OR).
        """
        found = await asyncio.gather(*(self.lookup(entity, by, values) for by, values in wanted.items()))
        seen: dict[str, Record] = {}
        for records in found:
            for record in records:
                seen.setdefault(record.local_id, record)
        return list(seen.values())

    @abc.abstractmethod
    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        """Records of `entity` matching the pushed-down part of `request` (the core re-checks)."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """Which entities, lookups, filters and orders this source serves."""

    async def aggregate(self, entity: str, request: AggregateRequest) -> Sequence[AggregateRow] | None:
        """Counts and totals of `entity`'s records per group, or None to be searched instead.

        Optional. The rows must equal what grouping the records `search` would return (one per
        local id, every condition applied as the core applies it) gives; answer None whenever the
        source cannot be sure of that this time. Capabilities declare the groups and sums served.
        """
        return None

    def problems(self) -> list[str]:
        """Mapping problems found against the model, as `path: what is wrong (valid: …)`."""
        return []

    async def verify(self) -> list[str]:
        """Probe the live source against the mapping (tables, columns, endpoints exist).

        Called by `federation check`; each problem as `path: what is wrong (valid: close matches)`.
        """
        return []

    async def index_advice(self, min_rows: int | None = SCAN_ROWS) -> list[str]:
        """Statements (or notes) for the source's owner: the index each lookup that would read a
        whole table of more than `min_rows` rows needs (every lookup when None).

        Printed by `federation indexes`; never run by Onepane. Sources without indexes say nothing.
        """
        return []

    async def value_limits(self) -> Mapping[str, Mapping[str, ValueLimit]]:
        """Optional: per entity, per field name, `id` or `key:<name>`, the largest value the source
        can hold (read once at start). The engine rejects a caller's value beyond it as
        BAD_USER_INPUT before any call. Sources that cannot tell say nothing."""
        return {}

    async def slow_lookups(self, min_rows: int = SCAN_ROWS) -> list[str]:
        """Lookups that would read a whole table of more than `min_rows` rows, each as
        `path: what it reads; the index that fixes it`. Reported by `federation check`; a slow
        lookup still answers correctly, so it is a warning, not a problem."""
        return []

    def data_age(self) -> DataAge | None:
        """Optional: the age of the copy this source serves now (None: live data, the default).

        Reported as `asOf` and `ageSeconds` in `extensions.sources` and `/readyz`; past its
        `max_age` the source's records are served as `stale`. Must be cheap (no I/O). A source
        that serves copies also stamps each record with its copy's time (`Record.as_of`), so a
        record read just before a newer copy swapped in keeps its own age.
        """
        return None

    def trino_catalog(self) -> Mapping[str, str] | str:
        """Optional: the Trino catalog properties that reach this source's database directly, or
        why it cannot be (the default: this source is reachable only through Onepane). A secret is
        never written: a password appears as `${ENV:NAME}` for the operator to set."""
        return "this kind of source is reachable only through Onepane"

    def trino_view(self, entity: str) -> TrinoView | str:
        """Optional: how Trino reads `entity` in that catalog, or why it cannot."""
        return "this kind of source is reachable only through Onepane"

    async def warnings(self) -> list[str]:
        """Optional: what `federation check` shows as warnings (rows a source skipped, say),
        each as `path: what`. The source still serves, so they do not fail the check."""
        return []

    async def open(self) -> None:
        """Open pools and sessions; called once before the first request."""

    async def health(self) -> Health:
        """Probe the source cheaply."""
        return Health(ok=True)

    async def ready(self) -> Health:
        """Probe what a lookup needs (`/readyz`): the mapped tables or endpoints, not just a connection.

        Defaults to `health`. Keep it cheap and free of parameters: the gateway calls it at most
        once per source's `health_interval`.
        """
        return await self.health()

    async def close(self) -> None:
        """Release pools and sessions; safe to call twice."""
