"""The planner: a validated GraphQL document in, a `Plan` out (or `Unsupported`).

A plan names, for each root field, the function that answers it (the same `RootFunction` the
strawberry resolver calls: federation/api/roots.py, federation/api/declared.py) and its
argument nodes, and below it the entity fields and relations the document selects, each with the
model's value converter (federation/api/build.py) and the schema's own serializer. Variables are
not part of a plan: `Plan.variables` coerces them per request with graphql-core's own function, so
one plan serves every request that sends the same document, whatever it asks about.

It plans queries of root lookups, lists and pages (with arguments, literal or variables, input
objects and enums converted as strawberry converts them for its resolvers), constants, plain
fields, objects a root returns (a page's edges and `pageInfo`, `purchaseStats`' groups, `Money`),
relations, the derived fields, aliases, `__typename` and fragments that add nothing but fields of
the same type. It declines (`Unsupported`) anything else, and the request stays with strawberry:
mutations, directives, introspection, repeated response keys and fields with arguments below
the root. See docs/architecture.md, "One execution engine".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    parse,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryOptional

from federation.api.build import ModelTypes, converter
from federation.api.declared import root_function
from federation.api.roots import RootFunction
from federation.engine.unified import Unified
from federation.model.declaration import ModelDecl
from federation.security.derived import DERIVED_TYPES, follow_rules
from federation.security.extension import empty_value, value_guard
from federation.security.policy import Policy

__all__ = ["Constant", "Derived", "Field", "Part", "Plan", "Relation", "Root", "Shape", "Unsupported", "compile_plan"]

# Types whose values the engine already holds as the exact Python type the serializer returns:
# a value of that type is sent as it is (the serializer would hand it back unchanged).
_PLAIN: dict[str, type] = {"Int": int, "Float": float, "String": str, "Boolean": bool, "ID": str}
# graphql-core's own scalars whose serializer returns a value of exactly this type unchanged
# (not Int and Float: they check the value's range and finiteness).
_SERIALIZED_AS_IS: dict[Any, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}
# Arguments of these Python types strawberry hands to a resolver as graphql-core coerced them.
_SCALARS = frozenset({str, int, float, bool})


class Unsupported(Exception):
    """The document (or this answer) is not one the compiled path reproduces exactly."""


Complete = Callable[[Any], Any]  # a resolved value → its JSON value, as graphql-core completes it


@dataclass(frozen=True, slots=True)
class Field:
    """A value of the unit: a model field (`name` in `Unified.values`), `id` or `source`."""

    key: str
    name: str
    read: Callable[[Unified], Any]
    checked: bool  # a model field, read as `unit.values.get(name)`: a field error on it needs strawberry's path
    convert: Callable[[Any], Any] | None  # the model's converter (build.converter); None: as read
    plain: type | None  # a value of exactly this type is already its JSON value
    complete: Complete
    guard: Callable[[Any], Any] | None = None  # the role's mask or redaction (security.extension.value_guard)


@dataclass(frozen=True, slots=True)
class Derived:
    """A field the generated type computes with its own resolver (`sourceRecords`, `conflicts`,
    `flags`, `timeline`, `possibleMatches`): that very function, called with the unit and an
    `info` holding the engine request, its result completed like any other value."""

    key: str
    resolve: Callable[[Unified, Any], Any]
    complete: Complete
    follow: Callable[[Any], Any] | None = None  # the role's rules for derived values (security.derived)


@dataclass(frozen=True, slots=True)
class Constant:
    """A key whose value never changes (`__typename`)."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Relation:
    key: str
    name: str
    many: bool
    fields: tuple[Field | Derived | Constant | Relation, ...]


Selection = tuple[Field | Derived | Constant | Relation, ...]


@dataclass(frozen=True, slots=True)
class Part:
    """One field of an object a root returns (`PurchaseConnection`, `PurchaseStats`): its attribute
    read and completed as a value (`complete`), as objects (`shape`) or as units (`units`), or a
    constant (`attribute` None: `__typename`, a denied field's empty value)."""

    key: str
    attribute: str | None
    many: bool = False
    required: bool = False  # a null here needs strawberry's path (graphql-core nulls the parent)
    items_required: bool = False
    complete: Complete | None = None
    shape: Shape | None = None
    units: Selection | None = None
    value: Any = None


@dataclass(frozen=True, slots=True)
class Shape:
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Root:
    """A root field answered by a `RootFunction` (a lookup, a list, a search or a page)."""

    key: str
    answer: RootFunction
    field: GraphQLField
    node: FieldNode
    many: bool
    fields: Selection  # an entity's selection; empty for a root returning `shape`
    nullable: bool  # when it fails: null here (True) or `data` null (False), as graphql-core propagates
    # When an argument is an input object or enum: how each argument is converted as strawberry
    # converts it (`_Planner.arguments`).
    convert: tuple[tuple[str, str, Any, bool], ...] | None = None
    policy: Policy | None = None  # a restricted role: its arguments must not reveal what it may not read
    shape: Shape | None = None  # what a root returning objects (not units) selects of them


@dataclass(frozen=True, slots=True)
class ConstantRoot:
    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled query: its root fields in document order, and what binds its variables."""

    roots: tuple[Root | ConstantRoot, ...]
    operation: str | None
    fetches: bool  # whether answering calls any source (a document of constants does not)
    schema: GraphQLSchema
    definitions: tuple[Any, ...]  # the operation's variable definitions

    def variables(self, given: Mapping[str, Any] | None) -> VariableValues | None:
        """The request's variables coerced to their declared types (graphql-core's own coercion);
        Unsupported when they do not fit, so strawberry's path words the error."""
        if not self.definitions:
            return None
        coerced = get_variable_values(self.schema, self.definitions, dict(given or {}))
        if isinstance(coerced, list):
            raise Unsupported("variables that do not fit their types")
        return coerced


def compile_plan(query: str, operation_name: str | None, schema: GraphQLSchema, model: ModelDecl,
                 types: ModelTypes, policy: Policy | None = None) -> Plan:
    """The plan for a validated document, or Unsupported. `policy`: a role that does not read
    everything unmasked; its decisions (deny, mask, redaction, derived-value rules) are planned
    in with the functions strawberry's FieldGuard applies (federation/security/extension.py)."""
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if operation_name is None:
        if len(operations) != 1:
            raise Unsupported("which operation")
        op = operations[0]
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(named) != 1:
            raise Unsupported("operation name")
        op = named[0]
    if op.operation != OperationType.QUERY or op.directives:
        raise Unsupported("a query without directives")
    query_type = schema.query_type
    assert query_type is not None
    planner = _Planner(schema, model, types, fragments, policy)
    roots = tuple(planner.root(node, query_type) for node in planner.fields(op, query_type))
    _unique(roots)
    return Plan(roots, op.name.value if op.name else None, any(isinstance(r, Root) for r in roots), schema,
                tuple(op.variable_definitions or ()))


def _unique(items: tuple[Any, ...]) -> None:
    if len({item.key for item in items}) != len(items):
        raise Unsupported("repeated response keys are merged by graphql-core")


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


class _Planner:
    def __init__(self, schema: GraphQLSchema, model: ModelDecl, types: ModelTypes,
                 fragments: Mapping[str, FragmentDefinitionNode], policy: Policy | None) -> None:
        self.schema, self.model, self.types, self.fragments = schema, model, types, fragments
        self.policy = policy

    def denied(self, type_name: str, field: GraphQLField, name: str) -> Any:
        """The role's decision on a field: `_ALLOWED`, or its empty answer (denied, `denied: null`),
        or Unsupported (denied with `denied: error`: strawberry words the FORBIDDEN)."""
        if self.policy is None:
            return _ALLOWED
        decision = self.policy.decide(type_name, name)
        if decision.action != "deny":
            return _ALLOWED
        if self.policy.settings.denied == "error":
            raise Unsupported("a denied field that is an error")
        return empty_value(field.type)

    def guard(self, type_name: str, field: GraphQLField, name: str) -> Callable[[Any], Any] | None:
        if self.policy is None:
            return None
        return value_guard(self.policy, self.policy.decide(type_name, name), get_named_type(field.type), name)

    def restricted(self, field: GraphQLField) -> bool:
        """A value whose parts the role's derived-value rules filter (security/derived.py)."""
        return self.policy is not None and get_named_type(field.type).name in DERIVED_TYPES

    def fields(self, node: Any, parent: GraphQLObjectType) -> Iterator[FieldNode]:
        """The field nodes of a selection set, fragments of the same type flattened."""
        for selection in node.selection_set.selections:
            if selection.directives:
                raise Unsupported("directives")
            if isinstance(selection, FieldNode):
                yield selection
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment: Any = self.fragments.get(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                fragment = selection
            else:  # pragma: no cover - graphql-core has no other selection
                raise Unsupported("selection")
            if fragment is None or fragment.directives:
                raise Unsupported("fragment")
            condition = fragment.type_condition
            if condition is not None and condition.name.value != parent.name:
                raise Unsupported("a fragment on another type")
            yield from self.fields(fragment, parent)

    def root(self, node: FieldNode, query_type: GraphQLObjectType) -> Root | ConstantRoot:
        name = node.name.value
        if name == "__typename":
            return ConstantRoot(_key(node), query_type.name)
        field = query_type.fields.get(name)
        if field is None:
            raise Unsupported(f"root {name}")
        empty = self.denied(query_type.name, field, name)
        if empty is not _ALLOWED:
            return ConstantRoot(_key(node), self.complete(field.type, node)(empty))
        if self.guard(query_type.name, field, name) is not None or self.restricted(field):
            raise Unsupported("a masked root")
        declared = self.model.roots.get(name)
        if declared is not None and declared.entity is None:  # a constant: its value, completed once
            if node.selection_set is not None:
                raise Unsupported("constant")
            return ConstantRoot(_key(node), self.complete(field.type, node)(declared.value))
        answer = root_function(declared) if declared is not None else self.types.roots.get(name)
        if answer is None:
            raise Unsupported(f"root {name}")
        convert = None
        if any(not isinstance(get_named_type(a.type), GraphQLScalarType) for a in field.args.values()):
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None:
                raise Unsupported(f"root {name}: arguments strawberry converts")
            convert = self.arguments(definition.arguments)
        kind, nullable = field.type, not isinstance(field.type, GraphQLNonNull)
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
        many = isinstance(kind, GraphQLList)
        named = get_named_type(kind)
        if not isinstance(named, GraphQLObjectType) or node.selection_set is None:
            raise Unsupported(f"root {name}: not an object")
        if named.name not in self.model.entities:
            if isinstance(kind, GraphQLList) and isinstance(kind.of_type, GraphQLNonNull):
                raise Unsupported(f"root {name}: non-null items")
            return Root(_key(node), answer, field, node, many, (), nullable, convert, self.policy,
                        self.shape(node, named))
        return Root(_key(node), answer, field, node, many, self.selection(node, named), nullable, convert,
                    self.policy)

    def arguments(self, arguments: list[StrawberryArgument]) -> tuple[tuple[str, str, Any, bool], ...]:
        """How each argument reaches the root function, worked out once: strawberry's
        `convert_argument` hands an optional or required built-in scalar back as it is, and an
        optional argument's null as null, so only the others (input objects, enums, lists) are
        converted per request. Each: GraphQL name, Python name, the strawberry argument (None: as
        it is), whether a null is handed over as it is."""
        config = self.schema._strawberry_schema.config  # type: ignore[attr-defined]
        out = []
        for argument in arguments:
            assert argument.python_name
            kind = argument.type
            optional = type(kind) is StrawberryOptional  # exactly: `Maybe` (a subclass) wraps even a null
            if optional:
                kind = kind.of_type  # type: ignore[union-attr]
            plain = isinstance(kind, type) and kind in _SCALARS
            out.append((config.name_converter.from_argument(argument), argument.python_name,
                        None if plain else argument, optional))
        return tuple(out)

    def shape(self, node: FieldNode, kind: GraphQLObjectType) -> Shape:
        """The parts of a plain object a root returns: each field is its attribute (no resolver)."""
        parts: list[Part] = []
        for child in self.fields(node, kind):
            name, key = child.name.value, _key(child)
            if name == "__typename":
                parts.append(Part(key, None, value=kind.name))
                continue
            field = kind.fields.get(name)
            definition = (field.extensions or {}).get("strawberry-definition") if field is not None else None
            if field is None or child.arguments or definition is None or definition.base_resolver is not None:
                raise Unsupported(f"{kind.name}.{name}")
            empty = self.denied(kind.name, field, name)
            if empty is not _ALLOWED:
                parts.append(Part(key, None, value=self.complete(field.type, child)(empty)))
                continue
            if self.restricted(field):
                raise Unsupported(f"{kind.name}.{name}: derived values for this role")
            guard = self.guard(kind.name, field, name)
            of, required = field.type, isinstance(field.type, GraphQLNonNull)
            if isinstance(of, GraphQLNonNull):
                of = of.of_type
            many, items_required = isinstance(of, GraphQLList), False
            if isinstance(of, GraphQLList):
                items_required = isinstance(of.of_type, GraphQLNonNull)
            named = get_named_type(of)
            attribute = definition.python_name
            if isinstance(named, GraphQLObjectType) and child.selection_set is not None:
                if guard is not None:
                    raise Unsupported(f"{kind.name}.{name}: masked objects")
                if named.name in self.model.entities:
                    parts.append(Part(key, attribute, many, required, items_required,
                                      units=self.selection(child, named)))
                else:
                    parts.append(Part(key, attribute, many, required, items_required, shape=self.shape(child, named)))
                continue
            done = self.complete(field.type, child)
            parts.append(Part(key, attribute, complete=done if guard is None else _guarded(guard, done)))
        _unique(tuple(parts))
        return Shape(tuple(parts))

    def selection(self, node: FieldNode, parent: GraphQLObjectType) -> Selection:
        decl = self.model.entities[parent.name]
        out: list[Field | Derived | Constant | Relation] = []
        for child in self.fields(node, parent):
            name, key = child.name.value, _key(child)
            if name == "__typename":
                out.append(Constant(key, parent.name))
                continue
            field = parent.fields.get(name)
            if field is None or child.arguments:
                raise Unsupported(f"{parent.name}.{name}")
            empty = self.denied(parent.name, field, name)
            if empty is not _ALLOWED:
                out.append(Constant(key, self.complete(field.type, child)(empty)))
                continue
            guard = self.guard(parent.name, field, name)
            if name in decl.relations:
                if guard is not None:
                    raise Unsupported("a masked relation")
                rel = decl.relations[name]
                target = get_named_type(field.type)
                assert isinstance(target, GraphQLObjectType)
                out.append(Relation(key, name, rel.many, self.selection(child, target)))
            elif name in decl.fields or name in ("id", "source"):
                if name in decl.fields:
                    ref = decl.fields[name].type_ref
                    convert = converter(ref, self.types.enums)
                    identity = ref.name not in self.types.enums and ref.name != "Money"
                    plain = _PLAIN.get(ref.name) if not ref.is_list and guard is None else None
                    read, checked, kept = _value(name), True, None if identity else convert
                else:  # the gateway's id, the primary record's source
                    read, checked, kept = (_unit_id if name == "id" else _unit_source), False, None
                    plain = str if guard is None else None
                out.append(Field(key, name, read, checked, kept, plain, self.complete(field.type, child), guard))
            else:
                if guard is not None:
                    raise Unsupported("a masked derived field")
                follow = None
                if self.restricted(field):
                    policy, entity, named = self.policy, parent.name, get_named_type(field.type).name
                    assert policy is not None
                    follow = _following(policy, entity, named)
                out.append(Derived(key, _resolver_of(field, parent.name), self.complete(field.type, child), follow))
        _unique(tuple(out))
        return tuple(out)

    def complete(self, kind: Any, node: FieldNode) -> Complete:
        """graphql-core's completion of a resolved value of `kind`, for values the engine holds:
        the schema's own serializers; a null where the type forbids one needs strawberry's path."""
        if isinstance(kind, GraphQLNonNull):
            if isinstance(kind.of_type, GraphQLScalarType | GraphQLEnumType):
                return _required_scalar(kind.of_type)
            inner = self.complete(kind.of_type, node)

            def required(value: Any) -> Any:
                if value is None:
                    raise Unsupported("a null where the type forbids one")
                return inner(value)

            return required
        if isinstance(kind, GraphQLList):
            item = self.complete(kind.of_type, node)
            return lambda value: None if value is None else [item(v) for v in value]
        if isinstance(kind, GraphQLScalarType | GraphQLEnumType):
            serialize = kind.serialize
            same = _SERIALIZED_AS_IS.get(kind)
            if same is not None:  # graphql-core hands a str (a bool) back as it is: no call for it
                return lambda value: value if type(value) is same else None if value is None else serialize(value)
            return lambda value: None if value is None else serialize(value)
        if isinstance(kind, GraphQLObjectType) and kind.name not in self.model.entities and node.selection_set:
            return self._object(kind, node)
        raise Unsupported(f"values of {kind}")

    def _object(self, kind: GraphQLObjectType, node: FieldNode) -> Complete:
        """A plain value object (`Money`): its fields are its attributes (no resolver of its own)."""
        parts: list[tuple[str, str | None, Any]] = []
        for child in self.fields(node, kind):
            name = child.name.value
            if name == "__typename":
                parts.append((_key(child), None, kind.name))
                continue
            field = kind.fields.get(name)
            definition = (field.extensions or {}).get("strawberry-definition") if field is not None else None
            if field is None or child.arguments or definition is None or definition.base_resolver is not None:
                raise Unsupported(f"{kind.name}.{name}")
            done = self.complete(field.type, child)
            if self.policy is not None:
                if self.denied(kind.name, field, name) is not _ALLOWED or self.restricted(field) or \
                        (kind.name == "SourceRecord" and name == "linkedBy"):
                    raise Unsupported(f"{kind.name}.{name} for this role")  # strawberry's FieldGuard decides
                guard = self.guard(kind.name, field, name)
                if guard is not None:
                    done = _guarded(guard, done)
            parts.append((_key(child), definition.python_name, done))
        _unique(tuple(_Keyed(k) for k, _, _ in parts))

        def build(value: Any) -> Any:
            if value is None:
                return None
            return {key: (done if attribute is None else done(getattr(value, attribute)))
                    for key, attribute, done in parts}

        return build


@dataclass(frozen=True, slots=True)
class _Keyed:
    key: str


_ALLOWED = object()


def _required_scalar(kind: GraphQLScalarType | GraphQLEnumType) -> Complete:
    """A non-null scalar's completion in one call (the nullable one's, with the null refused)."""
    serialize = kind.serialize
    same = _SERIALIZED_AS_IS.get(kind)

    def required(value: Any) -> Any:
        if type(value) is same:
            return value
        if value is None:
            raise Unsupported("a null where the type forbids one")
        return serialize(value)

    return required


def _guarded(guard: Callable[[Any], Any], complete: Complete) -> Complete:
    return lambda value: complete(guard(value))


def _following(policy: Policy, entity: str, named: str) -> Callable[[Any], Any]:
    """The role's rules for a derived value of `entity` (conflicts, timeline, flags), as
    FieldGuard applies them: security.derived.follow_rules, no arguments."""
    return lambda value: follow_rules(policy, entity, named, value, {})


def _resolver_of(field: GraphQLField, parent: str) -> Callable[[Unified, Any], Any]:
    """The generated resolver behind an entity field, when it takes just (root, info)."""
    definition = (field.extensions or {}).get("strawberry-definition")
    resolver = getattr(definition, "base_resolver", None)
    function = getattr(resolver, "wrapped_func", None)
    if function is None or list(inspect.signature(function).parameters) != ["root", "info"]:
        raise Unsupported(f"{parent}: a field without a (root, info) resolver")
    return function  # type: ignore[no-any-return]


def _value(name: str) -> Callable[[Unified], Any]:
    return lambda unit: unit.values.get(name)


def _unit_id(unit: Unified) -> Any:
    return unit.id


def _unit_source(unit: Unified) -> Any:
    return unit.records[0].source

