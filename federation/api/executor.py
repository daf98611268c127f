"""The executor: a `Plan`, its bound variables and one engine `Request` in, the response body out.

Level by level: each root's `RootFunction` (the one strawberry's resolver calls), then each
relation for the whole level at once (`Request.related_many`, the one relation rule), then the
values with the model's converters and the schema's serializers. The rules that shape a response
are the ones strawberry's path uses, called, not copied: a root's error is graphql-core's
`located_error` and its null propagates as the field's type says; the errors go through
`answer_errors` (codes, masking, failed sources), `extensions.sources` through `sources_json`,
the outcome through `ops.extension.outcome`.

Anything the plan cannot reproduce exactly (a field error or a value kept as written, a value
its serializer refuses, a null where the type forbids one, an error that is not Onepane's own)
raises `Unsupported`: the adapter then hands the request to strawberry, which runs it from the
start.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSchema, located_error
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_argument

from federation.api.context import CALLER_POLICY, KEY
from federation.api.extensions import answer_errors, sources_json
from federation.api.planner import (
    Constant,
    ConstantRoot,
    Derived,
    Field,
    Part,
    Plan,
    Relation,
    Root,
    Selection,
    Shape,
    Unsupported,
)
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import OnepaneError
from federation.ops.extension import outcome
from federation.security.extension import no_oracle

__all__ = ["Answer", "execute"]


@dataclass(frozen=True, slots=True)
class Answer:
    """One execution's response body, shared by the requests that joined it."""

    body: bytes
    outcome: str


class _Info:
    """What the generated resolvers read from strawberry's `info`: the context with the engine
    request. Anything else they might read is missing, and its AttributeError sends the request
    to strawberry's path."""

    __slots__ = ("context",)

    def __init__(self, request: Request) -> None:
        self.context = {KEY: request}


async def execute(plan: Plan, variables: VariableValues | None, request: Request) -> Answer:
    """The response for the plan; Unsupported when an answer needs the strawberry path."""
    raised: list[GraphQLError] = []
    # graphql-core calls every root's resolver in document order before awaiting any: what fails
    # at once (a role's argument check) is reported before what fails while awaited.
    arguments = [_arguments(root, variables, raised, plan.schema) for root in plan.roots]
    if len(plan.roots) == 1:  # the usual document: no task to run its one root
        values = [await _run_root(plan.roots[0], arguments[0], request, raised)]
    else:
        values = await asyncio.gather(*(_run_root(root, given, request, raised)
                                        for root, given in zip(plan.roots, arguments, strict=True)))
    data: dict[str, Any] | None = {}
    for root, value in zip(plan.roots, values, strict=True):
        if value is _NULLED:  # a non-null root failed: `data` itself is null
            data = None
            break
        assert data is not None
        data[root.key] = value
    errors = answer_errors(raised, request, (), plan.schema)
    answer: dict[str, Any] = {"data": data}
    if errors:
        answer["errors"] = [e.formatted for e in errors]
    extensions = sources_json(request)
    if extensions:
        answer["extensions"] = extensions
    return Answer(orjson.dumps(answer), outcome(bool(errors), data))


_NULLED = object()
_FAILED = object()


def _arguments(root: Root | ConstantRoot, variables: VariableValues | None, raised: list[GraphQLError],
               schema: GraphQLSchema) -> Any:
    """The root's coerced arguments, or _FAILED when the role's check refused them (error kept)."""
    if isinstance(root, ConstantRoot):
        return None
    try:
        arguments = get_argument_values(root.field, root.node, variables)
    except GraphQLError as exc:
        raise Unsupported("arguments strawberry words the error for") from exc
    if root.policy is not None and arguments:  # as FieldGuard does, before any source is called
        try:
            no_oracle(root.policy, schema, root.field.type, arguments)
        except OnepaneError as exc:
            raised.append(located_error(exc, [root.node], [root.key]))
            return _FAILED
    if root.convert is not None:  # input objects and enums, as strawberry hands them to its resolvers
        strawberry_schema: Any = schema._strawberry_schema  # type: ignore[attr-defined]
        registry, config = strawberry_schema.schema_converter.scalar_registry, strawberry_schema.config
        converted: dict[str, Any] = {}
        try:  # strawberry's `convert_arguments`, with the arguments it would hand back as they are planned
            for name, python_name, argument, optional in root.convert:
                if name in arguments:
                    value = arguments[name]
                    converted[python_name] = value if argument is None or (value is None and optional) else \
                        convert_argument(value, argument.type, registry, config, None, path=(name,))
        except Exception as exc:
            raise Unsupported("arguments strawberry words the error for") from exc
        return converted
    return arguments


async def _run_root(root: Root | ConstantRoot, arguments: Any, request: Request, raised: list[GraphQLError]) -> Any:
    if isinstance(root, ConstantRoot):
        return root.value
    if arguments is _FAILED:
        return None if root.nullable else _NULLED
    request.notes[CALLER_POLICY] = root.policy  # None for a role reading everything, as for strawberry's check
    try:
        found = await root.answer(request, arguments)
    except OnepaneError as exc:  # the root is null and the error points at it, as graphql-core does
        raised.append(located_error(exc, [root.node], [root.key]))
        return None if root.nullable else _NULLED
    except Exception as exc:  # not ours: strawberry's path masks it and logs the incident once
        raise Unsupported("an unexpected error") from exc
    try:
        if root.shape is not None:
            return await _shaped(found, root.shape, root.many, request)
        if root.many:
            return await _objects(found, root.fields, request)
        return None if found is None else (await _objects([found], root.fields, request))[0]
    except Unsupported:
        raise
    except Exception as exc:
        raise Unsupported("an error below a root") from exc


async def _objects(units: list[Unified], fields: Selection, request: Request) -> list[Any]:
    """One dict per unit; relations are fetched for the whole level at once (one batch), and
    the derived fields' resolvers of the whole level run together (their loads batch too)."""
    unique = list({id(u): u for u in units}.values())
    relations = [f for f in fields if isinstance(f, Relation)]
    pending: list[tuple[dict[str, Any], Derived, Any]] = []
    info = _Info(request) if any(isinstance(f, Derived) for f in fields) else None
    try:
        built = {id(u): _values(u, fields, info, pending) for u in unique}
    except BaseException:  # strawberry answers instead: the derived fields' calls already begun are dropped
        for _, _, waiting in pending:
            if inspect.iscoroutine(waiting):
                waiting.close()
        raise
    waits = [_relation(rel, unique, built, request) for rel in relations]
    if pending:
        waits.append(_derived(pending))
    if len(waits) == 1:
        await waits[0]
    elif waits:
        await asyncio.gather(*waits)
    return [built[id(u)] for u in units]


async def _derived(pending: list[tuple[dict[str, Any], Derived, Any]]) -> None:
    values = await asyncio.gather(*(waiting for _, _, waiting in pending))
    for (out, field, _), value in zip(pending, values, strict=True):
        out[field.key] = _finish(field, value)


def _finish(field: Derived, value: Any) -> Any:
    return field.complete(value if field.follow is None else field.follow(value))


async def _relation(rel: Relation, parents: list[Unified], built: Mapping[int, dict[str, Any]],
                    request: Request) -> None:
    found = await request.related_many(parents, rel.name)
    children = list({id(u): u for units in found for u in units}.values())
    dicts = dict(zip(map(id, children), await _objects(children, rel.fields, request), strict=True))
    for parent, units in zip(parents, found, strict=True):
        if rel.many:
            built[id(parent)][rel.key] = [dicts[id(u)] for u in units]
        else:
            built[id(parent)][rel.key] = dicts[id(units[0])] if units else None


def _values(unit: Unified, fields: Selection, info: _Info | None,
            pending: list[tuple[dict[str, Any], Derived, Any]]) -> dict[str, Any]:
    errors, values = unit.field_errors, unit.values
    out: dict[str, Any] = {}
    for field in fields:
        if isinstance(field, Field):
            if field.checked:  # a model field: what `field.read` reads, without the call
                if field.name in errors:
                    raise Unsupported("a field error, or a value kept as written (a note)")
                value = values.get(field.name)
            else:
                value = field.read(unit)
            if type(value) is not field.plain:
                if value is not None and field.convert is not None:
                    value = field.convert(value)
                if field.guard is not None:
                    value = field.guard(value)
                value = field.complete(value)
            out[field.key] = value
        elif isinstance(field, Constant):
            out[field.key] = field.value
        elif isinstance(field, Derived):
            value = field.resolve(unit, info)
            if inspect.isawaitable(value):
                out[field.key] = None  # keeps the document's key order; filled by _derived
                pending.append((out, field, value))
            else:
                out[field.key] = _finish(field, value)
        else:
            out[field.key] = None  # keeps the document's key order; filled by _relation
    return out



_Slots = dict[int, tuple[Part, list[tuple[dict[str, Any], list[Unified]]]]]


async def _shaped(value: Any, shape: Shape, many: bool, request: Request) -> Any:
    """The objects a root returned (a page, stats), completed by attribute; the units in them are
    completed per part for all their places at once (a page's nodes: one batch per relation)."""
    slots: _Slots = {}
    out = _parts(value, shape, many, slots)
    if slots:
        await asyncio.gather(*(_fill(part, places, request) for part, places in slots.values()))
    return out


async def _fill(part: Part, places: list[tuple[dict[str, Any], list[Unified]]], request: Request) -> None:
    assert part.units is not None
    done = iter(await _objects([u for _, units in places for u in units], part.units, request))
    for out, units in places:
        values = [next(done) for _ in units]
        out[part.key] = values if part.many else values[0]


def _parts(value: Any, shape: Shape, many: bool, slots: _Slots) -> Any:
    if value is None:
        return None
    if many:
        return [_parts(item, shape, False, slots) for item in value]
    out: dict[str, Any] = {}
    for part in shape.parts:
        if part.attribute is None:
            out[part.key] = part.value
            continue
        found = getattr(value, part.attribute)
        if found is None or (part.many and part.items_required and any(v is None for v in found)):
            if part.required or (found is not None):
                raise Unsupported("a null where the type forbids one")
            out[part.key] = None
        elif part.units is not None:
            units = list(found) if part.many else [found]
            if any(u is None for u in units):
                raise Unsupported("a null unit in a list")
            out[part.key] = None  # keeps the document's key order; filled by _fill
            slots.setdefault(id(part), (part, []))[1].append((out, units))
        elif part.shape is not None:
            out[part.key] = _parts(found, part.shape, part.many, slots)
        else:
            assert part.complete is not None
            out[part.key] = part.complete(found)
    return out
