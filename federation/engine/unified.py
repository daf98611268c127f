"""Stage *merge*: a unified entity, the records that are one real thing merged field by field.

In: one cluster's `Record`s (from the resolve stage) and why each was linked. Out: a `Unified`:
each field by its merge rule (`priority`, `latest`, `union`), single-valued disagreements kept as
`FieldConflict`s with every value, source and time, unreadable values labelled per field. No
source calls and no identity decisions here. See docs/architecture.md, "One request".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from federation.engine.residual import comparable
from federation.keys import normalize, readable
from federation.model.declaration import EntityDecl, FieldDecl
from federation.records import Money, Record

__all__ = ["UNKNOWN", "ConflictValue", "FieldConflict", "Unified", "dedupe_units", "lone", "merge"]

# An enum value a source's code table could not decode; any decoded value wins over it.
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class ConflictValue:
    value: Any
    source: str
    local_id: str
    observed_at: datetime | None


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """Sources disagree on a single-valued field: every value, its source and when."""

    field: str
    chosen: Any
    values: tuple[ConflictValue, ...]


@dataclass(slots=True)
class Unified:
    """Merged view of one entity; `records` in source-priority order, first one is primary."""

    entity: str
    id: str
    records: tuple[Record, ...]
    linked_by: Mapping[Record, tuple[str, ...]]
    values: dict[str, Any]
    conflicts: tuple[FieldConflict, ...]
    field_errors: Mapping[str, tuple[str, ...]]

    def key_values(self, key: str) -> list[str]:
        """Every normalized value of a match key across the records, in order, deduplicated."""
        return list(dict.fromkeys(v for r in self.records for v in r.keys.get(key, ())))


def merge(decl: EntityDecl, entity: str, records: Sequence[Record], linked_by: Mapping[Record, tuple[str, ...]],
          source_order: Mapping[str, int]) -> Unified:
    """Apply each field's merge rule; single-valued disagreements become conflicts.

    The record cache and coalesced calls hand the same Record objects to many requests, so a
    merge of the same records for the same reasons is remembered (a unit never changes once built).
    """
    if len(records) == 1:
        return _single(decl, entity, records[0], linked_by)
    key = (entity, tuple(map(id, records)))
    hit = _MERGED.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], records, strict=True)) and hit[1] == linked_by \
            and hit[2].entity == entity:
        return hit[2]
    unit = _merge(decl, entity, records, linked_by, source_order)
    if len(_MERGED) >= _MERGED_MAX:  # bounded: start over rather than track recency per hit
        _MERGED.clear()
    _MERGED[key] = (tuple(records), dict(linked_by), unit)
    return unit


# (entity, ids of the records) → (records, linked_by, unit); holding the records keeps their ids.
_MERGED: dict[tuple[str, tuple[int, ...]], tuple[tuple[Record, ...], dict[Record, tuple[str, ...]], Unified]] = {}
_MERGED_MAX = 2_048


def _merge(decl: EntityDecl, entity: str, records: Sequence[Record], linked_by: Mapping[Record, tuple[str, ...]],
           source_order: Mapping[str, int]) -> Unified:
    ordered = tuple(sorted(records, key=lambda r: (source_order.get(r.source, 1 << 30), r.local_id)))
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    errors: dict[str, tuple[str, ...]] = {}
    unreadable = [r for r in ordered if r.errors]  # most records read whole: no per-field look for errors
    for name, field in decl.fields.items():
        if field.raw_of:
            values[name] = _raw_values(ordered, field.raw_of)
            continue
        values[name], conflict = _merge_field(name, field, ordered)
        if conflict:
            conflicts.append(conflict)
        failed = tuple(r.errors[name] for r in unreadable if name in r.errors) if unreadable else ()
        if failed:
            errors[name] = failed
    primary = ordered[0]
    return Unified(entity, str(primary.ref), ordered, linked_by, values, tuple(conflicts), errors)


_NOT_LINKED: Mapping[Record, tuple[str, ...]] = {}


def lone(decl: EntityDecl, entity: str, record: Record) -> Unified:
    """The unit of a record nothing links to another: `merge` of that record alone."""
    return _single(decl, entity, record, _NOT_LINKED)


def _single(decl: EntityDecl, entity: str, record: Record, linked_by: Mapping[Record, tuple[str, ...]]) -> Unified:
    """One record is its own answer: the same values `merge` gives, without comparing anything
    (most entities of most answers come from one source; this is the hot path).

    Nothing is remembered across requests: a memo per record (tried) kept thousands of records and
    units alive past their request, and freeing them later, cold, cost more than building a unit
    (`{posts{title}}` executions 3.3 → 1.7 ms, a cached customer-360 no slower; docs/benchmarks.md).
    What each field needs is worked out once per entity (`_recipe`), not per record and field.
    """
    values: dict[str, Any] = {}
    get = record.fields.get
    for name, how, field, raw_of in _recipe(decl):
        value = get(name)
        if how == _AS_IS:
            # A value of a type that is never empty is kept without comparing it to "" and [].
            values[name] = value if value is not None and (value.__class__ in _NEVER_EMPTY or (
                value != "" and value != [])) else None
        elif how == _UNION:
            present = value is not None and value != "" and value != []
            values[name] = _union(name, field, [record]) if present else []
        else:  # the source's own text of another field (`rawStatuses`)
            raw = record.raw.get(raw_of)
            values[name] = [] if raw is None else [raw]
    errors = {n: (m,) for n, m in record.errors.items() if n in decl.fields} if record.errors else {}
    return Unified(entity, f"{record.source}:{record.local_id}", (record,), linked_by, values, (), errors)


_AS_IS, _UNION, _RAW = 0, 1, 2  # how `_single` reads a field
_NEVER_EMPTY = frozenset({int, float, bool, Decimal, datetime, date, Money})  # never == "" nor == []
# id(decl) → (decl, its fields' (name, how, field, raw field read)); the decl is held so its id stays its own.
_RECIPES: dict[int, tuple[EntityDecl, tuple[tuple[str, int, FieldDecl, str], ...]]] = {}


def _recipe(decl: EntityDecl) -> tuple[tuple[str, int, FieldDecl, str], ...]:
    kept = _RECIPES.get(id(decl))
    if kept is not None and kept[0] is decl:
        return kept[1]
    recipe = tuple((name, _RAW if field.raw_of else _UNION if field.rule == "union" else _AS_IS, field,
                    field.raw_of or "") for name, field in decl.fields.items())
    if len(_RECIPES) >= 256:  # models are built once per gateway; bounded for processes that build many
        _RECIPES.clear()
    _RECIPES[id(decl)] = (decl, recipe)
    return recipe


def dedupe_units(units: Iterable[Unified]) -> list[Unified]:
    """Units in first-seen order, each once (records of one cluster share one unit object)."""
    return list({id(u): u for u in units}.values())


def _raw_values(records: Sequence[Record], field: str) -> list[str]:
    return list(dict.fromkeys(r.raw[field] for r in records if field in r.raw))


def _merge_field(name: str, field: FieldDecl, records: Sequence[Record]) -> tuple[Any, FieldConflict | None]:
    present = [r for r in records if r.fields.get(name) not in (None, [], "")]
    if field.rule == "union":
        return _union(name, field, present), None
    if not present:
        return None, None
    known = [r for r in present if r.fields[name] != UNKNOWN] or present
    chosen = _choose(name, field, known)
    distinct = {_fingerprint(r.fields[name], field.normalize) for r in present}
    if len(distinct) < 2:
        return chosen.fields[name], None
    values = tuple(ConflictValue(r.fields[name], r.source, r.local_id, r.updated_at) for r in present)
    return chosen.fields[name], FieldConflict(name, chosen.fields[name], values)


def _choose(name: str, field: FieldDecl, present: Sequence[Record]) -> Record:
    if field.prefer:
        rank = {s: i for i, s in enumerate(field.prefer)}
        return min(present, key=lambda r: rank.get(r.source, len(rank)))
    if field.rule == "latest":
        dated = [r for r in present if r.updated_at is not None]
        if dated:
            return max(dated, key=lambda r: r.updated_at)  # type: ignore[arg-type,return-value]
    return present[0]


def _union(name: str, field: FieldDecl, present: Sequence[Record]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for record in present:
        value = record.fields[name]
        for item in value if isinstance(value, list | tuple) else [value]:
            # Region "": connectors give readable phones in E.164 already (read in their source's
            # region); a national spelling here is one its source could not read.
            key = normalize(field.normalize, item, "") if field.normalize and isinstance(item, str) else item
            if key is None and isinstance(item, str) and item.strip():
                # A value its normalizer cannot read (a phone without its country code, an email
                # with a typo) is still what the source holds: kept as written, never dropped.
                key = ("as written", " ".join(item.split()))
                seen.setdefault(key, item.strip())
                continue
            if key is not None and key not in seen:
                # An unreadable phone's digits key dedupes spellings; it is shown as written.
                canonical = field.normalize in _CANONICAL and isinstance(key, str) and readable(field.normalize, key)
                seen[key] = key if canonical else (item.strip() if isinstance(item, str) else item)
    return list(seen.values())


_CANONICAL = frozenset({"email", "phone", "code"})


def _fingerprint(value: Any, normalizer: str | None = None) -> Any:
    """Equality that ignores case, accents and spacing in text, so "Zoë" and "zoe" agree;
    a field with a normalizer compares normalized ("WEB-100231" and "web 100231" agree)."""
    if isinstance(value, list | tuple):
        return tuple(_fingerprint(v, normalizer) for v in value)
    if normalizer and isinstance(value, str):
        return normalize(normalizer, value, "") or value
    return comparable(value)
