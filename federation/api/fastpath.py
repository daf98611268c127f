"""A compiled execution path for validated documents over plain entity data.

graphql-core calls one resolver per field of every record (and strawberry wraps each call).
For a document whose selections are plain fields and relations of the generated entity types,
declared list roots and constants, this module compiles a plan once per document text and then,
per request, fetches level by level through the same engine `Request` (same batch loaders,
coalescing, stats and `extensions.sources`) and builds the response dicts directly.

It answers only what it can answer exactly as the strawberry path would:
- a document strawberry has already parsed, validated and begun to execute once (so every
  limit, cost rule and allow-list check has passed for that text);
- a single query operation without variables, fragments or directives;
- a caller whose role reads everything unmasked, and no audit log;
- values that need no conversion beyond the scalar's own serializer.
Anything else, or any error while resolving (a field error, a value that does not serialize),
goes to the strawberry path, which then runs the request from the start.

Identical documents sent while one of them still waits on its first source call share that
execution's response (`FastPath._lead`; `gateway.coalesce_operations`). A document of constants
is answered from the body built on its first request while answers carry no `extensions.sources`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperation

from federation.api.extensions import sources_json
from federation.contract import SortKey
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import SourceError
from federation.model.declaration import ModelDecl
from federation.ops import metrics
from federation.ops.extension import _label
from federation.ops.tracing import span
from federation.security import AuditSink, Policy
from federation.security.auth import Principal
from federation.security.settings import SecuritySettings

__all__ = ["FastPath", "Plan"]

_MAX_DOCUMENTS = 1000
_BODY_KEY_MAX = 8192  # larger bodies are parsed every time rather than kept as keys
_JSON = {"Content-Type": "application/json; charset=utf-8"}  # as strawberry's path sends it, built once
_PLAIN: dict[str, type] = {"Int": int, "Float": float, "String": str, "Boolean": bool, "ID": str}


class Unsupported(Exception):
    """The document (or this answer) is not one the compiled path reproduces exactly."""


# -- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scalar:
    key: str
    name: str
    kind: type
    serialize: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Relation:
    key: str
    name: str
    many: bool
    fields: tuple[Scalar | Relation, ...]


@dataclass(frozen=True, slots=True)
class ListRoot:
    key: str
    entity: str
    order: tuple[SortKey, ...]
    fields: tuple[Scalar | Relation, ...]
    node: FieldNode  # where its error points when none of its sources answered


class RootFailed(Exception):
    """No source of a list root answered: the root is null and the failure its error."""

    def __init__(self, root: ListRoot, failure: SourceError) -> None:
        super().__init__(str(failure))
        self.root, self.failure = root, failure


@dataclass(frozen=True, slots=True)
class ConstantRoot:
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled query: its root fields in document order."""

    roots: tuple[ListRoot | ConstantRoot, ...]
    operation: str | None
    fetches: bool  # whether answering calls any source (a document of constants does not)


def compile_plan(query: str, operation_name: str | None, schema: GraphQLSchema, model: ModelDecl) -> Plan:
    """The plan for a validated document, or Unsupported."""
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(document.definitions) != 1 or len(operations) != 1:
        raise Unsupported("one operation, no fragments")
    op = operations[0]
    name = op.name.value if op.name else None
    if op.operation != OperationType.QUERY or op.variable_definitions or op.directives:
        raise Unsupported("a query without variables or directives")
    if operation_name is not None and operation_name != name:
        raise Unsupported("operation name")
    query_type = schema.query_type
    assert query_type is not None
    roots = tuple(_root(node, query_type, schema, model) for node in _fields(op))
    if len({r.key for r in roots}) != len(roots):
        raise Unsupported("repeated response keys are merged by graphql-core")
    return Plan(roots, name, any(isinstance(root, ListRoot) for root in roots))


def _fields(node: Any) -> Iterator[FieldNode]:
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise Unsupported("fragments and directives")
        yield selection


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _root(node: FieldNode, query_type: GraphQLObjectType, schema: GraphQLSchema,
          model: ModelDecl) -> ListRoot | ConstantRoot:
    name = node.name.value
    declared = model.roots.get(name)
    field = query_type.fields.get(name)
    if declared is None or field is None or node.arguments:
        raise Unsupported(f"root {name}")
    if declared.entity is None:
        if node.selection_set is not None or declared.value is None:
            raise Unsupported("constant")
        kind = _named(field.type)
        if not isinstance(kind, GraphQLScalarType) or kind.name not in _PLAIN:
            raise Unsupported("constant type")
        return ConstantRoot(_key(node), kind.serialize(declared.value))
    if not declared.many or declared.by is not None:
        raise Unsupported("lookups")
    order = tuple(SortKey(item.lstrip("-"), descending=item.startswith("-")) for item in declared.order)
    return ListRoot(_key(node), declared.entity, order, _selection(node, declared.entity, model, schema), node)


def _named(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _selection(node: FieldNode, entity: str, model: ModelDecl, schema: GraphQLSchema) -> tuple[Scalar | Relation, ...]:
    decl = model.entities[entity]
    out: list[Scalar | Relation] = []
    for child in _fields(node):
        name = child.name.value
        if child.arguments:
            raise Unsupported("arguments")
        if name in decl.relations:
            rel = decl.relations[name]
            out.append(Relation(_key(child), name, rel.many, _selection(child, rel.entity, model, schema)))
            continue
        field = decl.fields.get(name)
        if field is None or field.type_ref.is_list or child.selection_set is not None:
            raise Unsupported(f"{entity}.{name}")
        kind = field.type_ref.name
        if kind not in _PLAIN:
            raise Unsupported(f"{entity}.{name}: {kind}")
        scalar = schema.type_map[kind]
        assert isinstance(scalar, GraphQLScalarType)
        out.append(Scalar(_key(child), name, _PLAIN[kind], scalar.serialize))
    if len({f.key for f in out}) != len(out):
        raise Unsupported("repeated response keys")
    return tuple(out)


# -- execution ------------------------------------------------------------------------------------


async def execute(plan: Plan, request: Request) -> dict[str, Any]:
    """`data` for the plan; Unsupported when an answer needs the strawberry path."""
    if len(plan.roots) == 1:  # the usual document: no task to run its one root
        return {plan.roots[0].key: await _run_root(plan.roots[0], request)}
    values = await asyncio.gather(*(_run_root(root, request) for root in plan.roots))
    return {root.key: value for root, value in zip(plan.roots, values, strict=True)}


async def _run_root(root: ListRoot | ConstantRoot, request: Request) -> Any:
    if isinstance(root, ConstantRoot):
        return root.value
    try:
        units = await request.search(root.entity, [], root.order, None, whole=True)
    except SourceError as failure:
        raise RootFailed(root, failure) from failure
    return await _objects(units, root.fields, request)


async def _objects(units: list[Unified], fields: tuple[Scalar | Relation, ...], request: Request) -> list[Any]:
    """One dict per unit; relations are fetched for the whole level at once (one batch)."""
    unique = list({id(u): u for u in units}.values())
    relations = [f for f in fields if isinstance(f, Relation)]
    built = {id(u): _scalars(u, fields) for u in unique}
    if relations:
        if len(relations) == 1:
            await _relation(relations[0], unique, built, request)
        else:
            await asyncio.gather(*(_relation(rel, unique, built, request) for rel in relations))
    return [built[id(u)] for u in units]


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


def _scalars(unit: Unified, fields: tuple[Scalar | Relation, ...]) -> dict[str, Any]:
    values = unit.values
    out: dict[str, Any] = {}
    for field in fields:
        if isinstance(field, Relation):
            out[field.key] = None  # keeps the document's key order; filled by _relation
            continue
        value = values.get(field.name)
        if field.name in unit.field_errors:
            raise Unsupported("a field error, or a value kept as written (a note)")
        if value is not None and type(value) is not field.kind:
            try:
                value = field.serialize(value)
            except Exception as exc:
                raise Unsupported("a value that does not serialize") from exc
        out[field.key] = value
    return out


# -- the gate: which requests take the compiled path ----------------------------------------------


class Learn(SchemaExtension):
    """Marks a document as validated once strawberry starts executing it (every check passed)."""

    def __init__(self, fast: FastPath) -> None:
        self.fast = fast

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.operation_type == StrawberryOperation.QUERY:
            self.fast.learn(context.query, context.operation_name)
        yield


class FastPath:
    """Compiled plans per validated document, and the answer for requests that can use one."""

    def __init__(self, gateway: Gateway, schema: GraphQLSchema, security: SecuritySettings | None,
                 audit: AuditSink | None) -> None:
        self.gateway = gateway
        self.schema = schema
        self.secured = security is not None
        self.audited = audit is not None
        roles = security.roles if security is not None else {}
        self.open_roles = frozenset(n for n, r in roles.items() if Policy(n, r, frozenset()).unrestricted)
        self._validated: set[tuple[str, str | None]] = set()
        self._plans: dict[tuple[str, str | None], Plan | None] = {}
        # Request body bytes → plan, for bodies that have one: clients send the same bytes for the
        # same document, and the same bytes always parse to the same document, so a repeat skips
        # JSON parsing and checks (~10 % of a small request under load, though ~1 µs in isolation).
        self._by_body: dict[bytes, Plan] = {}
        self.coalesce = gateway.config.gateway.coalesce_operations
        self._open: dict[int, tuple[Plan, asyncio.Task[Answer | None]]] = {}  # id(plan) → joinable execution
        # A document of constants calls no source, so its body is the same every time unless it
        # carries `extensions.sources` (each source's breaker state, which changes): built once.
        self.fixed_answers = not gateway.config.gateway.response_extensions
        self._fixed: dict[int, tuple[Plan, Answer | None]] = {}  # id(plan) → its answer

    def learn(self, query: str, operation_name: str | None) -> None:
        if len(self._validated) >= _MAX_DOCUMENTS:
            self._validated.clear()
        self._validated.add((query, operation_name))

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            return self._plans[key]
        if key not in self._validated:
            return None
        try:
            plan: Plan | None = compile_plan(query, operation_name, self.schema, self.gateway.model)
        except (Unsupported, GraphQLError):
            plan = None
        if len(self._plans) >= _MAX_DOCUMENTS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def allowed(self, principal: Any) -> bool:
        if self.audited:
            return False
        if not self.secured:
            return True
        return isinstance(principal, Principal) and principal.role in self.open_roles

    async def answer(self, request: web.Request, principal: Any) -> web.Response | None:
        """The response, or None when the strawberry path must answer."""
        raw = await request.read()  # an oversized body raises 413 here, as on the strawberry path
        plan = self._by_body.get(raw)
        if plan is None:
            plan = self._parsed(raw)
            if plan is None:
                return None
            if len(raw) <= _BODY_KEY_MAX:
                if len(self._by_body) >= _MAX_DOCUMENTS:
                    self._by_body.clear()
                self._by_body[raw] = plan
        if not self.allowed(principal):
            return None
        return await self._run(plan)

    def _parsed(self, raw: bytes) -> Plan | None:
        """The plan for a request body, or None when it is not a document the compiled path answers."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict) or not isinstance(query := body.get("query"), str) or body.get("variables"):
            return None
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return None
        return self.plan(query, operation_name)

    async def _run(self, plan: Plan) -> web.Response | None:
        started = time.perf_counter()
        name = _label(plan.operation)
        with span("graphql.request") as current:
            running = self._open.get(id(plan))
            if running is not None and running[0] is plan:
                answer = await asyncio.shield(running[1])
                metrics.TALLY.coalesced(name)
                current.set_attribute("onepane.coalesced", True)
            elif self.coalesce and plan.fetches:
                answer = await asyncio.shield(self._lead(plan))
            elif not plan.fetches and self.fixed_answers:
                answer = await self._constant(plan)
            else:
                answer = await self._answer(plan)
            if answer is None:
                return None
            current.set_attribute("graphql.operation.name", name)
            current.set_attribute("onepane.outcome", answer.outcome)
            current.set_attribute("onepane.compiled", True)
        metrics.TALLY.request(name, answer.outcome, time.perf_counter() - started)
        return web.Response(body=answer.body, headers=_JSON)

    async def _constant(self, plan: Plan) -> Answer | None:
        """The answer of a document of constants, built on its first request."""
        kept = self._fixed.get(id(plan))
        if kept is not None and kept[0] is plan:
            return kept[1]
        answer = await self._answer(plan)
        if len(self._fixed) >= _MAX_DOCUMENTS:
            self._fixed.clear()
        self._fixed[id(plan)] = (plan, answer)
        return answer

    def _lead(self, plan: Plan) -> asyncio.Task[Answer | None]:
        """Execute `plan` as a task identical requests may join until its first source call returns.

        Those are the requests whose own first call would have joined that call anyway (the guard
        coalesces identical calls in flight), and every later call of the plan follows from that
        first answer; so a joiner gets the answer it would have computed, without computing it.
        A request that arrives later runs the plan itself: nothing is kept once answered. The
        task is shielded, so one client going away does not cancel the answer others wait for.
        """
        engine = Request(self.gateway)
        task = asyncio.ensure_future(self._answer(plan, engine))
        self._open[id(plan)] = (plan, task)

        def close(*_: object) -> None:
            if self._open.get(id(plan), (None, None))[1] is task:
                del self._open[id(plan)]
            if task.done() and not task.cancelled():
                task.exception()  # awaiting requests raise it; if all went away, no "never retrieved" noise

        engine.on_first_answer = close
        task.add_done_callback(close)
        return task

    async def _answer(self, plan: Plan, engine: Request | None = None) -> Answer | None:
        engine = engine if engine is not None else Request(self.gateway)
        errors: list[GraphQLError] = []
        try:
            data: dict[str, Any] | None = await execute(plan, engine)
        except Unsupported:
            return None
        except RootFailed as failed:  # a list root is non-null: its null makes `data` null, as on strawberry's path
            data, failure = None, failed.failure
            errors.append(GraphQLError(str(failure), [failed.root.node], path=[failed.root.key],
                                       extensions={"code": failure.code, "source": failure.source}))
        reported = {(e.extensions or {}).get("source") for e in errors}
        errors += [GraphQLError(str(failure), extensions={"code": failure.code, "source": name})
                   for name, stats in engine.stats.items() if name not in reported for failure in stats.errors[:1]]
        answer: dict[str, Any] = {"data": data}
        if errors:
            answer["errors"] = [e.formatted for e in errors]
        extensions = sources_json(engine)
        if extensions:
            answer["extensions"] = extensions
        return Answer(orjson.dumps(answer), "ok" if not errors else "partial" if data is not None else "error")


@dataclass(frozen=True, slots=True)
class Answer:
    """One execution's response body, shared by the requests that joined it."""

    body: bytes
    outcome: str
