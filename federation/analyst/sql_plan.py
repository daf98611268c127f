"""The table plan a caller gets: the served model's tables filtered by the caller's role."""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema

from federation.analyst.tables import TablePlan, plan_tables
from federation.model.declaration import ModelDecl
from federation.security.policy import Policy
from federation.security.settings import SecuritySettings

__all__ = ["plan_for"]


def plan_for(schema: GraphQLSchema, model: ModelDecl, security: SecuritySettings | None, role: str) -> TablePlan:
    """Tables and columns `role` may read; with no security section, everything."""
    if security is None or role not in security.roles:
        return plan_tables(schema, lambda _type, _field: "allow")
    policy = Policy(role, security.roles[role], frozenset(model.entities) | {"Query", "Mutation"})
    return plan_tables(schema, cache(lambda type_name, field: policy.decide(type_name, field).action))
