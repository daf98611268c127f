"""The one layer where roles apply: every field resolution passes the caller's policy here.

Denied fields are null (or `[]`) or a FORBIDDEN error, as the role says; masked fields are
masked after they resolve. Because this wraps field resolution itself, a new field or entity
(generated from the model) can never skip it. The same layer collects the audit entry.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLResolveInfo, GraphQLSchema, GraphQLString, get_named_type
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from federation.errors import FORBIDDEN, QueryError
from federation.messages import without_suggestions
from federation.security.audit import AuditEntry, AuditSink
from federation.security.auth import Principal
from federation.security.derived import DERIVED_TYPES, follow_rules, link_reasons
from federation.security.limits import document_hash
from federation.security.masks import apply_mask, redact_text
from federation.security.oracle import entity_of, revealed_fields
from federation.security.policy import Decision, Policy

__all__ = ["NOTES_WITHOUT_VALUES", "PRINCIPAL", "FieldGuard", "Forbidden", "RoleGate", "empty_value", "no_oracle",
           "role_extension", "value_guard"]

PRINCIPAL = "principal"
# String fields that name a record (`localId`, `ref` = source:localId, `source`): ids, never
# contact data, so never redacted even when a source's ids look like a phone or card number.
RECORD_IDS = frozenset({"localId", "ref", "source"})

# Set in the request context for a role that does not read everything unmasked: notes on values
# kept as written (federation/api/context.py) then name the record and field, never the value.
NOTES_WITHOUT_VALUES = "onepane.notes.without_values"


class Forbidden(QueryError):
    """The caller's role may not read this field."""

    code = FORBIDDEN

    def __init__(self, type_name: str, field: str) -> None:
        super().__init__(f"your role may not read {type_name}.{field}")


def empty_value(return_type: Any) -> Any:
    """What a field the role may not read answers (with `denied: null`): [] for a list, else null."""
    kind = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    return [] if isinstance(kind, GraphQLList) else None


def value_guard(policy: Policy, decision: Decision, named: Any, field: str) -> Callable[[Any], Any] | None:
    """What the role does to a resolved value of this field: its mask, or free-text redaction of
    a String (never a record id); None when the value goes out as resolved. Applied by FieldGuard
    on strawberry's path and by the compiled path's plan (federation/api/planner.py) alike."""
    if decision.action == "mask":
        kind = decision.mask or "redact"
        return lambda value: apply_mask(kind, value)
    if policy.redacts and named is GraphQLString and field not in RECORD_IDS:
        kinds = policy.redacts
        return lambda value: _redact_value(value, kinds)
    return None


class FieldGuard(SchemaExtension):
    """Applies the caller's role to every field; writes the audit entry before the answer leaves."""

    def __init__(self, *, policies: Mapping[str, Policy], audit: AuditSink | None) -> None:
        self.policies = policies
        self.audit = audit
        self._policy: Policy | None = None
        self._entry: AuditEntry | None = None

    def _principal(self) -> Principal | None:
        context = self.execution_context.context
        principal = context.get(PRINCIPAL) if isinstance(context, dict) else None
        return principal if isinstance(principal, Principal) else None

    async def on_operation(self) -> AsyncIterator[None]:
        principal = self._principal()
        self._policy = self.policies.get(principal.role) if principal else None
        context = self.execution_context.context
        if isinstance(context, dict) and (self._policy is None or not self._policy.unrestricted):
            context[NOTES_WITHOUT_VALUES] = True
        if self._policy is not None and not self._policy.settings.introspection:
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        if self.audit is not None and principal is not None:
            query = self.execution_context.query or ""
            self._entry = AuditEntry(principal.name, principal.role, document_hash(query),
                                     self.execution_context.operation_name)
        yield
        if self._policy is not None and not self._policy.settings.introspection:
            _without_suggestions(self.execution_context.result)
        if self._entry is not None and self.audit is not None:
            self._entry.errors = len(getattr(self.execution_context.result, "errors", None) or [])
            await self.audit.append(self._entry)

    def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], *args: Any,
                **kwargs: Any) -> Any:
        policy = self._policy
        type_name, field = info.parent_type.name, info.field_name
        if field == "__typename":  # names the type the document already asked for: never data, always readable
            return _next(root, info, *args, **kwargs)
        if policy is None:  # no principal: the server never lets such a request through
            raise Forbidden(type_name, field)
        if self._entry is not None and not type_name.startswith("__"):
            self._entry.fields.add(f"{type_name}.{field}")
        decision = policy.decide(type_name, field)
        if decision.action == "deny":
            if policy.settings.denied == "error":
                raise Forbidden(type_name, field)
            return empty_value(info.return_type)
        if kwargs and info.parent_type is info.schema.query_type:
            no_oracle(policy, info.schema, info.return_type, kwargs)
        result = _next(root, info, *args, **kwargs)
        if self._entry is not None and type_name == "Customer" and field == "id":
            self._entry.customer_ids.add(str(result))
        if not policy.unrestricted:
            named = get_named_type(info.return_type).name
            if named in DERIVED_TYPES:
                entity = _entity(info, type_name)
                if type_name == "SourceRecord":  # a record's fuzzy matches compare its own entity's fields
                    entity = root.entity
                entity = entity.removesuffix("PossibleMatch") or entity
                result = _later(result, lambda value: follow_rules(policy, entity, named, value, kwargs))
            if type_name == "SourceRecord" and field == "linkedBy":
                fields = _fields(info, root.entity)
                return _later(result, lambda value: link_reasons(policy, root.entity, value, fields, decision))
        change = value_guard(policy, decision, get_named_type(info.return_type), field)
        return result if change is None else _later(result, change)


def no_oracle(policy: Policy, schema: GraphQLSchema, return_type: Any, arguments: Mapping[str, Any]) -> None:
    """Filtering, looking up or grouping by a field the role may not read is FORBIDDEN, before any
    source is called: otherwise each answer says whether some record holds a value. A masked
    field stays usable (a contact-centre role looks customers up by the email the caller gives)."""
    if policy.unrestricted:
        return
    named = get_named_type(return_type).name
    for type_name, field in sorted(revealed_fields(schema, named, arguments)):
        if policy.decide(type_name, field).action == "deny":
            raise Forbidden(type_name, field)


class RoleGate(FieldGuard):
    """FieldGuard without the per-field hook, for when every role reads everything unmasked and
    nothing is audited: introspection per role and error codes still apply, at no cost per field."""

    resolve = SchemaExtension.resolve


def role_extension(policies: Mapping[str, Policy], audit: AuditSink | None) -> type[FieldGuard]:
    """The cheapest extension that enforces these policies."""
    if audit is None and all(p.unrestricted for p in policies.values()):
        return RoleGate
    return FieldGuard


def _later(result: Any, change: Callable[[Any], Any]) -> Any:
    """`change` applied to a resolver's result, awaited first when it is awaitable."""
    if inspect.isawaitable(result):
        async def later() -> Any:
            return change(await result)

        return later()
    return change(result)


def _entity(info: GraphQLResolveInfo[Any], type_name: str) -> str:
    """The entity a derived value belongs to: the parent type, or the type a root answers about."""
    if info.parent_type is info.schema.query_type:
        return entity_of(info.schema, get_named_type(info.return_type).name)
    return type_name


def _fields(info: GraphQLResolveInfo[Any], type_name: str) -> Mapping[str, Any]:
    found = info.schema.type_map.get(type_name)
    return getattr(found, "fields", {}) or {}


def _redact_value(value: Any, kinds: frozenset[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, kinds)
    if isinstance(value, list):
        return [_redact_value(v, kinds) for v in value]
    return value


def _without_suggestions(result: Any) -> None:
    """graphql-core's "Did you mean 'posts'?" names fields, types and arguments: for a role that
    may not introspect the schema, that would hand it out piece by piece."""
    for error in getattr(result, "errors", None) or ():
        if error.path is None and "Did you mean" in error.message:
            error.message = without_suggestions(error.message)
