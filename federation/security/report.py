"""`federation check --roles`: per role, what it reads, what is masked, what is denied."""

from __future__ import annotations

from graphql import GraphQLInputObjectType, GraphQLSchema
from rich.table import Table

from federation.security.policy import Policy
from federation.security.settings import SecuritySettings
from federation.security.validate import schema_fields

__all__ = ["role_tables"]


def role_tables(schema: GraphQLSchema, entities: frozenset[str], security: SecuritySettings) -> list[Table]:
    """One table per role: a row per type of the served `schema` (the API builds it) with its
    readable, masked and denied fields; `entities` are the model's, guarded by default."""
    types = {name: fields for name, fields in schema_fields(schema).items()
             if not isinstance(schema.type_map[name], GraphQLInputObjectType)}
    guarded = entities | {"Query", "Mutation"}
    tables = []
    for name, settings in security.roles.items():
        policy = Policy(name, settings, guarded)
        redacts = ", ".join(sorted(policy.redacts)) or "nothing"
        table = Table(title=f"role {name} (free text redacted of: {redacts})")
        for column in ("type", "reads", "masked", "denied"):
            table.add_column(column, overflow="fold")
        for type_name in sorted(types):
            decisions = {f: policy.decide(type_name, f) for f in sorted(types[type_name])}
            reads = [f for f, d in decisions.items() if d.action == "allow"]
            masked = [f"{f} ({d.mask})" for f, d in decisions.items() if d.action == "mask"]
            denied = [f for f, d in decisions.items() if d.action == "deny"]
            table.add_row(type_name, "all" if not masked and not denied else ", ".join(reads),
                          ", ".join(masked), "all" if not reads and not masked else ", ".join(denied))
        tables.append(table)
    return tables
