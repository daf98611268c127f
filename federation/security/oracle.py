"""Which fields a root field's arguments reveal: filtering, looking up or grouping by a value
the role may not read would answer "does any record hold this value?" — an oracle.

An argument reveals the entity field of its name (`email` → `Customer.emails` too), or the
field of that name on the types reachable from the entity (`cardLast4` → `Payment.cardLast4`);
the few that name a field differently are listed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

__all__ = ["entity_of", "group_labels", "revealed_fields"]

# Arguments whose name is not the field they compare with.
_RENAMED: dict[str, tuple[tuple[str | None, str], ...]] = {
    "customerId": (("Customer", "id"),),
    "placedFrom": ((None, "placedAt"),),
    "placedTo": ((None, "placedAt"),),
    "amount": ((None, "total"), ("Payment", "amount")),
    "top": ((None, "total"),),  # the highest spenders: ranks groups by their totals
}
Fields = tuple[tuple[str | None, str], ...]
# What each purchaseStats grouping keys its groups by (reading them is required: FORBIDDEN
# otherwise), and what it labels them with (withheld or masked by the role layer, never refused).
_GROUPS: dict[str, tuple[Fields, Fields]] = {
    "CUSTOMER": ((("Customer", "id"),), (("Customer", "name"),)),
    "STORE": (((None, "store"), ("Store", "id")), (("Store", "name"),)),
    "DAY": (((None, "placedAt"),), ()),
    "WEEK": (((None, "placedAt"),), ()),
    "MONTH": (((None, "placedAt"),), ()),
    "CHANNEL": (((None, "channel"),), ()),
    "SOURCE": (((None, "source"),), ()),
}
_PAGING = frozenset({"first", "after", "last", "before", "id"})


def _group_name(value: Any) -> str:
    return str(getattr(value, "name", None) or getattr(value, "value", value)).upper()


def group_labels(group_by: Any) -> Fields:
    """The fields a grouping's labels show (`(None, field)`: a field of the grouped entity)."""
    return _GROUPS.get(_group_name(group_by), ((), ()))[1] if group_by is not None else ()


def entity_of(schema: GraphQLSchema, type_name: str) -> str:
    for suffix in ("Connection", "Stats"):
        if type_name.endswith(suffix) and type_name[: -len(suffix)] in schema.type_map:
            return type_name[: -len(suffix)]
    return type_name


def _fields(schema: GraphQLSchema, type_name: str) -> Mapping[str, Any]:
    found = schema.type_map.get(type_name)
    return found.fields if isinstance(found, GraphQLObjectType | GraphQLInterfaceType) else {}


def _by_name(schema: GraphQLSchema, entity: str, name: str) -> Iterator[tuple[str, str]]:
    if name in _RENAMED:
        yield from ((t or entity, f) for t, f in _RENAMED[name])
        return
    fields = _fields(schema, entity)
    for candidate in (name, f"{name}s"):
        if candidate in fields:
            yield entity, candidate
            return
    for type_name in schema.type_map:
        if not type_name.startswith("__") and name in _fields(schema, type_name):
            yield type_name, name


def revealed_fields(schema: GraphQLSchema, return_type: str, arguments: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The `(Type, field)` pairs whose values these root arguments compare with or group by."""
    entity = entity_of(schema, return_type)
    found: set[tuple[str, str]] = set()
    for name, value in arguments.items():
        if value is None or name in _PAGING:
            continue
        if name in ("groupBy", "thenBy"):
            found.update((t or entity, f) for t, f in _GROUPS.get(_group_name(value), ((), ()))[0])
        elif isinstance(value, Mapping):  # an input object (a filter): each of its fields
            found.update(revealed_fields(schema, return_type, value))
        else:
            found.update(_by_name(schema, entity, name))
    return found
