"""Generate strawberry types from the declared model: one GraphQL type per entity, generic resolvers."""

from __future__ import annotations

import asyncio
import enum
import string
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from federation.api.context import engine_request, note_kept
from federation.api.identity import explanation, possible_matches_field
from federation.api.types import (
    Conflict,
    ConflictValue,
    Flag,
    MoneyType,
    SourceRecord,
    TimelineEntry,
)
from federation.api.walkin import match_field
from federation.engine.unified import Unified
from federation.errors import SourceDataError
from federation.model.declaration import EntityDecl, FieldDecl, ModelDecl, TypeRef
from federation.records import Money
from federation.timeline import TimelineOrigin, render_summary

__all__ = ["ModelTypes", "build_types", "converter", "display", "scalar_or_enum"]

_SCALARS: dict[str, Any] = {
    "String": str,
    "Int": int,
    "Float": float,
    "Boolean": bool,
    "ID": strawberry.ID,
    "DateTime": datetime,
    "Date": date,
    "Money": MoneyType,
    "Decimal": Decimal,
}


class ModelTypes:
    """The generated GraphQL classes: entity name → type, enum name → Python Enum."""

    def __init__(self, entities: dict[str, type], enums: dict[str, type[enum.Enum]], model: ModelDecl) -> None:
        self.entities = entities
        self.enums = enums
        self.model = model
        # The functions answering the built-in roots (filled by api/roots.py build_query): strawberry's
        # resolvers and the compiled path both call these, so each root's rules live in one place.
        self.roots: dict[str, Callable[..., Any]] = {}


def build_types(model: ModelDecl) -> ModelTypes:
    """Create every entity type first, then fill in fields, so relations can point anywhere."""
    enums = {name: _make_enum(name, values) for name, values in model.enums.items()}
    classes: dict[str, type] = {name: type(name, (), {}) for name in model.entities}
    for name, decl in model.entities.items():
        _fill(classes[name], name, decl, model, classes, enums)
        strawberry.type(classes[name], name=name, description=decl.description or None)
    return ModelTypes(classes, enums, model)


def _make_enum(name: str, values: tuple[str, ...]) -> type[enum.Enum]:
    python_enum = enum.Enum(name, {v: v for v in values})  # type: ignore[misc]
    return strawberry.enum(python_enum, name=name)


def scalar_or_enum(name: str, enums: dict[str, type[enum.Enum]]) -> Any:
    """The Python type strawberry maps to the model's type `name`."""
    return enums[name] if name in enums else _SCALARS[name]


def _graphql_type(ref: TypeRef, enums: dict[str, type[enum.Enum]]) -> Any:
    base = scalar_or_enum(ref.name, enums)
    return list[base] if ref.is_list else base | None  # type: ignore[valid-type]


def _fill(cls: type, name: str, decl: EntityDecl, model: ModelDecl, classes: dict[str, type],
          enums: dict[str, type[enum.Enum]]) -> None:
    def add(field_name: str, resolver: Callable[..., Any], graphql_type: Any, description: str = "") -> None:
        setattr(cls, f"f_{field_name}", strawberry.field(
            resolver=resolver, graphql_type=graphql_type, name=field_name, description=description or None))

    if "id" not in decl.fields:  # an entity may declare its own `id` (e.g. Int) to serve a contract
        add("id", _resolve_id, strawberry.ID, "The gateway's id: the primary record's source:localId.")
    add("source", _resolve_source, str, "The source of the primary record.")
    for field_name, field in decl.fields.items():
        convert = converter(field.type_ref, enums)
        add(field_name, _field_resolver(field_name, field, convert), _graphql_type(field.type_ref, enums),
            field.description)
    for rel_name, rel in decl.relations.items():
        target = classes[rel.entity]
        graphql_type = list[target] if rel.many else target | None  # type: ignore[valid-type]
        add(rel_name, _relation_resolver(rel_name, rel.many), graphql_type, rel.description)
    add("sourceRecords", _resolve_source_records, list[SourceRecord], "Every record behind this entity.")
    add("conflicts", _resolve_conflicts, list[Conflict], "Fields whose sources disagree.")
    if decl.identity is not None and decl.identity.rules:
        add("possibleMatches", *possible_matches_field(name, cls))
    if name == "Customer" and "match" not in decl.fields and "match" not in decl.relations:
        add("match", *match_field())   # how `customers(match:)` scored it
    if decl.flags:
        add("flags", _flags_resolver(decl), list[Flag], "Warnings raised by the data.")
    if decl.timeline_from:
        add("timeline", _timeline_resolver(decl, model), list[TimelineEntry],
            "Every dated event from every system, newest first.")


# -- plain values -------------------------------------------------------------------------------


def converter(ref: TypeRef, enums: dict[str, type[enum.Enum]]) -> Callable[[Any], Any]:
    if ref.name == "Money":
        one: Callable[[Any], Any] = _money
    elif ref.name in enums:
        members = enums[ref.name]
        one = lambda v: members[v]  # noqa: E731
    else:
        one = _identity
    if ref.is_list:
        return lambda values: [one(v) for v in values]
    return one


def _identity(value: Any) -> Any:
    return value


_CENTS = Decimal("0.01")


def _money(value: Money) -> MoneyType:
    """At least two decimals, as money is written (a REAL 25 from SQLite reads 25.00)."""
    amount = value.amount
    if amount.same_quantum(_CENTS):  # already two decimals, the usual case (as_tuple costs more)
        return MoneyType(amount=amount, currency=value.currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(_CENTS)
    return MoneyType(amount=amount, currency=value.currency)


def _field_resolver(name: str, field: FieldDecl, convert: Callable[[Any], Any]) -> Callable[..., Any]:
    listed = field.type_ref.is_list

    def resolve(root: Unified, info: strawberry.Info) -> Any:
        value = root.values.get(name)
        if name in root.field_errors:
            if value is None or value == []:
                primary = next(r for r in root.records if name in r.errors)
                if listed:  # a non-null list: empty, with the error at its path
                    note_kept(info, primary.source, f"source '{primary.source}': {root.field_errors[name][0]}",
                              kept=False)
                    return []
                raise SourceDataError(primary.source, root.field_errors[name][0])
            for record in root.records:  # served, with what could not be read kept as written
                if name in record.errors:
                    note_kept(info, record.source, record.errors[name])
        return None if value is None else convert(value)

    return resolve


def _resolve_id(root: Unified, info: strawberry.Info) -> str:
    return root.id


def _resolve_source(root: Unified, info: strawberry.Info) -> str:
    return root.records[0].source


def _resolve_source_records(root: Unified, info: strawberry.Info) -> list[SourceRecord]:
    request = engine_request(info)
    out = []
    for r in root.records:
        fresh = request.freshness(r)
        matched = [explanation(score, other) for other, score in request.link_scores(r) if other in root.records]
        out.append(SourceRecord(source=r.source, localId=r.local_id, entity=r.entity, updatedAt=r.updated_at,
                                linkedBy=list(root.linked_by.get(r, ())), stale=fresh.stale, ageSeconds=fresh.age,
                                asOf=r.as_of, matchedBy=matched))
    return out


def _resolve_conflicts(root: Unified, info: strawberry.Info) -> list[Conflict]:
    return [
        Conflict(field=c.field, chosen=display(c.chosen), values=[
            ConflictValue(value=display(v.value), source=v.source, localId=v.local_id, observedAt=v.observed_at)
            for v in c.values])
        for c in root.conflicts
    ]


def display(value: Any) -> str | None:
    """A value as text for conflicts and summaries."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# -- relations ------------------------------------------------------------------------------------


def _relation_resolver(name: str, many: bool) -> Callable[..., Any]:
    async def resolve(root: Unified, info: strawberry.Info) -> Any:
        units = await engine_request(info).related(root, name)
        if many:
            return units
        return units[0] if units else None

    return resolve


def _flags_resolver(decl: EntityDecl) -> Callable[..., Any]:
    async def resolve(root: Unified, info: strawberry.Info) -> list[Flag]:
        request = engine_request(info)
        flags = []
        for code, flag in decl.flags.items():
            related = await request.related(root, flag.relation)
            hits = [u for u in related if all(display(u.values.get(f)) == v for f, v in flag.where.items())]
            if len(hits) >= flag.min:
                target = decl.relations[flag.relation].entity
                flags.append(Flag(code=code, message=flag.message.format(count=len(hits)),
                                  reads=tuple((target, f) for f in flag.where)))
        return flags

    return resolve


def _summary_parts(template: str, unit: Unified) -> dict[str, str]:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return {k: display(unit.values.get(k)) or "" for k in names}


def _timeline_resolver(decl: EntityDecl, model: ModelDecl) -> Callable[..., Any]:
    async def resolve(root: Unified, info: strawberry.Info) -> list[TimelineEntry]:
        request = engine_request(info)
        routes = await asyncio.gather(*(_walk(request, root, route) for route in decl.timeline_from))
        entries = [e for units in routes for u in units if (e := _entry(u, model)) is not None]
        unique = {(e.kind, e.ref): e for e in entries}
        return sorted(unique.values(), key=lambda e: e.at, reverse=True)

    return resolve


async def _walk(request: Any, root: Unified, route: str) -> list[Unified]:
    units = [root]
    for step in route.split("."):
        batches = await asyncio.gather(*(request.related(u, step) for u in units))
        units = list({id(u): u for batch in batches for u in batch}.values())
    return units


def _entry(unit: Unified, model: ModelDecl) -> TimelineEntry | None:
    spec = model.entities[unit.entity].timeline
    if spec is None:
        return None
    at = unit.values.get(spec.at)
    if not isinstance(at, datetime):
        return None
    wait = unit.values.get(spec.wait_seconds) if spec.wait_seconds else None
    parts = _summary_parts(spec.summary, unit)
    return TimelineEntry(
        at=at,
        kind=spec.kind,
        channel=_pick(unit, spec.channel),
        direction=_pick(unit, spec.direction),
        summary=render_summary(spec.summary, parts) or None,
        waitSeconds=wait if isinstance(wait, int) else None,
        source=unit.records[0].source,
        ref=unit.id,
        origin=TimelineOrigin(unit.entity, _fields_of(unit, {"at": spec.at, "channel": spec.channel,
                                                             "direction": spec.direction,
                                                             "waitSeconds": spec.wait_seconds}),
                              spec.summary, parts),
    )


def _fields_of(unit: Unified, names: dict[str, str | None]) -> dict[str, str | None]:
    """Which entry values came from a field of the unit (a constant such as DELIVERY did not)."""
    return {k: (v if v in unit.values else None) for k, v in names.items()}


def _pick(unit: Unified, name: str | None) -> str | None:
    """A field's value, or the text itself when the model names no such field (a constant)."""
    if name is None:
        return None
    return display(unit.values.get(name)) if name in unit.values else name
