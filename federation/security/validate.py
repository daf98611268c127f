"""Role rules checked against the served schema's type and field names: a name that matches
nothing is a config error. The API builds the schema and passes its names in (`schema_fields`):
this layer sits below the API and never builds a schema itself.

Without this a typo (`Customer.email` for `Customer.emails`, `Custmer.dateOfBirth`) would be a
rule that never applies: a mask or deny silently off, personal data served in clear.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from federation.errors import ConfigProblem
from federation.security.settings import SecuritySettings

__all__ = ["policy_problems", "schema_fields"]

_Fielded = GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType


def schema_fields(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    """Every named type a rule may name, with its fields (introspection types left out)."""
    return {name: frozenset(t.fields) for name, t in schema.type_map.items()
            if not name.startswith("__") and isinstance(t, _Fielded)}


def _near(word: str, choices: list[str]) -> str:
    return ", ".join(difflib.get_close_matches(word, choices, n=3, cutoff=0.6))


def _pattern_problem(pattern: str, types: Mapping[str, frozenset[str]]) -> tuple[str, str] | None:
    """What is wrong with one `Type.field` pattern, and close matches; None when it names something."""
    if pattern == "*":
        return None
    type_name, _, field = pattern.partition(".")
    if type_name != "*" and type_name not in types:
        return f"no type '{type_name}' in the served schema", _near(type_name, sorted(types))
    if field == "*":
        return None
    fields = types[type_name] if type_name != "*" else frozenset().union(*types.values())
    if field not in fields:
        owner = f"type '{type_name}'" if type_name != "*" else "any type"
        return f"no field '{field}' on {owner}", _near(field, sorted(fields))
    return None


def policy_problems(types: Mapping[str, frozenset[str]], security: SecuritySettings, file: str) -> list[ConfigProblem]:
    """Every allow, deny and mask pattern of every role that names no type or field of `types`
    (the served schema's, from `schema_fields`); `file` is the config the roles came from."""
    problems: list[ConfigProblem] = []
    for role, settings in security.roles.items():
        rules = [("allow", p) for p in settings.allow] + [("deny", p) for p in settings.deny] + \
                [("mask", p) for p in settings.mask]
        for kind, pattern in rules:
            found = _pattern_problem(pattern, types)
            if found is not None:
                problem, near = found
                problems.append(ConfigProblem(file, f"security.roles.{role}.{kind}: {pattern}", problem, near))
    return problems
