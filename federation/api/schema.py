"""Build the strawberry schema for a model and print its SDL."""

from __future__ import annotations

import dataclasses
import decimal
import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.types.base_scalars import DecimalDefinition
from strawberry.types import ExecutionContext

from federation.api.build import ModelTypes, build_types
from federation.api.declared import with_declared_roots
from federation.api.extensions import SourcesExtension
from federation.api.identity import build_mutation
from federation.api.roots import build_query
from federation.errors import ConfigError, OnepaneError
from federation.model.declaration import ModelDecl
from federation.ops.extension import OpsExtension
from federation.security import AuditSink, Policy, limit_extensions
from federation.security.extension import role_extension
from federation.security.settings import LimitSettings, SecuritySettings
from federation.security.validate import policy_problems, schema_fields

__all__ = ["OnepaneSchema", "build_schema", "print_sdl"]

log = logging.getLogger("federation.api")


class OnepaneSchema(strawberry.Schema):
    """Logs only unexpected errors: a bad argument or a failed source is not a stack trace.

    `registered_documents`: hashes of the gateway's own generated documents, allowed like persisted ones.
    `model_types`: the generated classes, whose value converters the compiled path shares.
    """

    registered_documents: set[str]
    model_types: ModelTypes

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if error.original_error is not None and not isinstance(error.original_error, OnepaneError):
                log.debug("resolver error at %s", error.path)


def _finite_decimal(value: object) -> decimal.Decimal:
    """Strawberry's Decimal parse, minus NaN, sNaN and infinities: no amount is any of them, and
    sNaN raised InvalidOperation deep in the engine's comparisons (an INTERNAL for a typo)."""
    parsed = DecimalDefinition.parse_value(value) if DecimalDefinition.parse_value else decimal.Decimal(str(value))
    if not isinstance(parsed, decimal.Decimal) or not parsed.is_finite():
        raise ValueError("a Decimal is a finite number such as 89.99")
    return parsed


FINITE_DECIMAL = dataclasses.replace(DecimalDefinition, parse_value=_finite_decimal)


def build_schema(model: ModelDecl, security: SecuritySettings | None = None, audit: AuditSink | None = None,
                 *, config_file: str = "", **kwargs: Any) -> OnepaneSchema:
    """Generate the GraphQL schema from the declared model, with limits and the role layer.

    Every role rule must name a type or field of this schema: one that names nothing (a typo would
    leave a mask or deny silently off) is a ConfigError naming `config_file` and the rule.
    """
    types = build_types(model)
    query = with_declared_roots(build_query(types), model, types)
    limits = security.limits if security else LimitSettings()
    entities = frozenset(model.entities)
    registered: set[str] = set()
    extensions: list[Any] = [OpsExtension, SourcesExtension, *limit_extensions(limits, entities, registered)]
    if security is not None:
        guarded = entities | {"Query", "Mutation"}
        policies = {name: Policy(name, role, guarded) for name, role in security.roles.items()}
        extensions.append(partial(role_extension(policies, audit), policies=policies, audit=audit))
    schema = OnepaneSchema(query=query, mutation=build_mutation(model),
                           config=StrawberryConfig(auto_camel_case=False),
                           extensions=extensions, scalar_overrides={decimal.Decimal: FINITE_DECIMAL}, **kwargs)
    if security is not None:
        problems = policy_problems(schema_fields(schema._schema), security, config_file)
        if problems:
            raise ConfigError(problems)
    schema.registered_documents = registered
    schema.model_types = types
    return schema


def print_sdl(model: ModelDecl) -> str:
    return build_schema(model).as_str() + "\n"
