"""Root query fields a config declares under `model.roots`, added next to the built-in ones.

Each resolver only asks the engine: a list is `Request.search` with the given arguments as
pushed-down conditions, a lookup is `Request.get` (the gateway's id), a local-id lookup plus
`Request.unify` (a declared `id`), or `Request.find` (a match key).
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import strawberry

from federation.api.build import ModelTypes, scalar_or_enum
from federation.api.context import engine_request
from federation.api.roots import RootFunction
from federation.contract import Condition, SortKey
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import QueryError
from federation.keys import normalize
from federation.messages import cut
from federation.model.declaration import ModelDecl, RootArgDecl, RootDecl, parse_type
from federation.records import parse_source_ref

__all__ = ["declared_roots", "root_function", "sort_keys", "with_declared_roots"]


def with_declared_roots(query: type, model: ModelDecl, types: ModelTypes) -> type:
    """The built-in Query type, extended with the model's declared roots (if any)."""
    fields = declared_roots(model, types)
    if not fields:
        return query
    return strawberry.type(type("Query", (query,), fields))


def declared_roots(model: ModelDecl, types: ModelTypes) -> dict[str, Any]:
    """One strawberry field per declared root, by the name the config chose."""
    return {f"r_{name}": _root(name, root, model, types) for name, root in model.roots.items()}


def _root(name: str, root: RootDecl, model: ModelDecl, types: ModelTypes) -> Any:
    if root.entity is None:
        return _constant(name, root, types)
    target = types.entities[root.entity]
    graphql_type: Any = list[target | None] | None if root.many else target | None  # type: ignore[valid-type]
    answer = root_function(root)
    assert answer is not None
    if root.by is not None:
        resolver = _resolver(answer, {str(root.by): _by_type(root, model, types)}, required=True)
    else:
        resolver = _resolver(answer, {a: _arg_type(a, root, model, types) for a in root.args}, required=False)
    return strawberry.field(resolver=resolver, graphql_type=graphql_type, name=name,
                            description=root.description or None)


def _constant(name: str, root: RootDecl, types: ModelTypes) -> Any:
    assert root.type is not None
    ref = parse_type(root.type)
    base = scalar_or_enum(ref.name, types.enums)
    graphql_type: Any = list[base] if ref.is_list else base  # type: ignore[valid-type]
    if not root.type.rstrip().endswith("!"):
        graphql_type = graphql_type | None
    value = root.value

    def resolve() -> Any:
        return value

    return strawberry.field(resolver=resolve, graphql_type=graphql_type, name=name,
                            description=root.description or None)


def _by_type(root: RootDecl, model: ModelDecl, types: ModelTypes) -> Any:
    entity = model.entities[str(root.entity)]
    if root.by == "id":
        field = entity.fields.get("id")
        return strawberry.ID if field is None else scalar_or_enum(field.type_ref.name, types.enums)
    return str


def _arg_type(name: str, root: RootDecl, model: ModelDecl, types: ModelTypes) -> Any:
    arg = root.args[name]
    entity = model.entities[str(root.entity)]
    if arg.type is not None:
        ref = parse_type(arg.type)
    elif arg.field in entity.fields:
        ref = entity.fields[arg.field].type_ref
        ref = ref.model_copy(update={"is_list": arg.op == "in"})
    else:
        ref = parse_type("[String]" if arg.op == "in" else "String")
    base = scalar_or_enum(ref.name, types.enums)
    return (list[base] if ref.is_list else base) | None  # type: ignore[valid-type]


def root_function(root: RootDecl) -> RootFunction | None:
    """What the declared root answers, for strawberry's resolver and the compiled path alike;
    None for a constant (its value is the answer)."""
    if root.entity is None:
        return None
    return _lookup(root) if root.by is not None else _listing(root)


def sort_keys(order: Sequence[str]) -> list[SortKey]:
    """A declared root's `order`: field names, '-field' descending."""
    return [SortKey(item.lstrip("-"), descending=item.startswith("-")) for item in order]


def _resolver(answer: RootFunction, params: dict[str, Any], required: bool) -> Callable[..., Any]:
    async def resolve(info: strawberry.Info, **given: Any) -> Any:
        return await answer(engine_request(info), given)

    return _with_signature(resolve, params, required)


def _with_signature(resolve: Callable[..., Any], params: dict[str, Any], required: bool) -> Callable[..., Any]:
    """Give `resolve(info, **arguments)` the signature strawberry reads the arguments from."""
    parameters = [inspect.Parameter("info", inspect.Parameter.KEYWORD_ONLY, annotation=strawberry.Info)]
    for name, annotation in params.items():
        default = inspect.Parameter.empty if required else None
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                                            default=default))
    resolve.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return resolve


# -- lists ----------------------------------------------------------------------------------------


def _listing(root: RootDecl) -> RootFunction:
    entity = str(root.entity)
    order = sort_keys(root.order)
    args = root.args

    async def answer(request: Request, given: Mapping[str, Any]) -> list[Unified]:
        conditions = [_condition(args[name], value) for name, value in given.items() if value is not None]
        return await request.search(entity, conditions, order, None, whole=True)

    return answer


def _condition(arg: RootArgDecl, value: Any) -> Condition:
    return Condition(arg.field, arg.op, _plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- lookups --------------------------------------------------------------------------------------


def _lookup(root: RootDecl) -> RootFunction:
    entity, by, many = str(root.entity), str(root.by), root.many

    async def answer(request: Request, given: Mapping[str, Any]) -> Any:
        value = given[by]
        if by != "id":
            units = await _by_key(request, entity, by, value)
        elif "id" in request.model.entities[entity].fields:
            units = await request.unify(entity, await request.lookup(entity, "id", [str(value)]))
        else:
            units = await _by_ref(request, entity, str(value))
        if not many and len(units) > 1:
            # A key whose scope keeps sources apart can name one thing in each system: picking one
            # would answer for the others.
            refs = ", ".join(u.id for u in units[:5]) + (", …" if len(units) > 5 else "")
            raise QueryError(f"{by}: '{cut(str(value))}' names {len(units)} different {entity} records "
                             f"({refs}); ask by id", by)
        return units if many else (units[0] if units else None)

    return answer


async def _by_key(request: Request, entity: str, key: str, value: str) -> list[Unified]:
    kind = request.model.entities[entity].keys[key].normalize
    normal = normalize(kind, value, request.gateway.config.gateway.region)
    if normal is None:
        raise QueryError(f"{key}: '{value}' is not a valid {key}", key)
    return await request.find(entity, key, [normal])


async def _by_ref(request: Request, entity: str, text: str) -> list[Unified]:
    ref = parse_source_ref(text)
    if ref is None:
        raise QueryError(f"id: '{text}' is not an id; write source:localId", "id")
    if ref.source not in request.gateway.connectors:
        raise QueryError(f"id: no source '{ref.source}' (sources: {', '.join(request.gateway.connectors)})", "id")
    unit = await request.get(entity, ref)
    return [] if unit is None else [unit]
