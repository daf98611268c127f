"""Query limits as strawberry extensions and validation rules: rejected before any source call."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    parse,
    print_ast,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from federation.errors import DOCUMENT_TOO_LARGE, PERSISTED_QUERY_NOT_ALLOWED, QUERY_TOO_COSTLY
from federation.security.settings import LimitSettings

__all__ = ["cost_rule", "document_hash", "limit_extensions", "load_allow_list"]


def document_hash(query: str, parsed: DocumentNode | None = None) -> str:
    """SHA-256 of the document in canonical form (whitespace and comments do not count);
    `parsed`, when the caller has already parsed `query`, saves parsing it again."""
    try:
        canonical = print_ast(parsed if parsed is not None else parse(query, no_location=True))
    except GraphQLError:
        canonical = query
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_allow_list(folder: Path) -> frozenset[str]:
    """Hashes of every `.graphql` document in `folder` (an agent UI's persisted queries)."""
    return frozenset(document_hash(p.read_text("utf-8")) for p in sorted(folder.glob("*.graphql")))


def cost_rule(max_cost: int, list_size: int, entities: frozenset[str]) -> type[ValidationRule]:
    class CostRule(ValidationRule):
        """Estimated entities materialized: each entity field costs 1 per parent, and a list of
        entities is assumed to hold `list_size` of them. Scalars and in-memory structure
        (conflicts, sourceRecords, timeline) are free: source calls are what a budget protects."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            context: ValidationContext = self.context
            root = context.schema.get_root_type(node.operation)
            fragments = {f.name.value: f for f in context.document.definitions
                         if isinstance(f, FragmentDefinitionNode)}
            cost = _cost(node.selection_set, root, fragments, 1, list_size, set(), entities)
            if cost > max_cost:
                context.report_error(GraphQLError(
                    f"query cost {cost} exceeds the budget of {max_cost}; ask for fewer nested lists",
                    node, extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "budget": max_cost}))

    return CostRule


def _cost(selection: SelectionSetNode | None, parent: Any, fragments: dict[str, FragmentDefinitionNode],
          multiplier: int, list_size: int, seen: set[str], entities: frozenset[str]) -> int:
    if selection is None or not isinstance(parent, GraphQLObjectType):
        return 0
    total = 0
    for node in selection.selections:
        if isinstance(node, FieldNode):
            field = parent.fields.get(node.name.value)
            if field is None:
                continue
            named = get_named_type(field.type)
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            is_entity = named.name in entities
            factor = list_size if is_entity and isinstance(inner, GraphQLList) else 1
            inner_multiplier = min(multiplier * factor, _SATURATED)  # a deep document must not make huge ints
            total += (inner_multiplier if is_entity else 0) + _cost(
                node.selection_set, named, fragments, inner_multiplier, list_size, seen, entities)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, parent, fragments, multiplier, list_size, seen, entities)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:  # a cycle is reported by the standard rules; never recurse forever
                total += _cost(fragment.selection_set, parent, fragments, multiplier, list_size,
                               seen | {node.name.value}, entities)
    return min(total, _SATURATED)


_SATURATED = 10**12


class DocumentLimits(SchemaExtension):
    """Document size and the persisted-query allow-list, checked before parsing."""

    def __init__(self, max_chars: int, allowed: frozenset[str] | None, registered: set[str] | None = None) -> None:
        self.max_chars = max_chars
        self.allowed = allowed
        self.registered = registered if registered is not None else set()

    def on_operation(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        if len(query) > self.max_chars:
            raise GraphQLError(f"document of {len(query)} characters exceeds the limit of {self.max_chars}",
                               extensions={"code": DOCUMENT_TOO_LARGE})
        if self.allowed is not None and (digest := document_hash(query)) not in self.allowed \
                and digest not in self.registered:
            raise GraphQLError("this document is not on the persisted-query allow-list",
                               extensions={"code": PERSISTED_QUERY_NOT_ALLOWED})
        yield


def limit_extensions(limits: LimitSettings, entities: frozenset[str],
                     registered: set[str] | None = None) -> list[Callable[[], SchemaExtension]]:
    """Factories of the limit extensions (strawberry makes one per request), in running order.

    `registered` holds the hashes of documents the gateway generates itself (the console's and
    the MCP tools', federation/console/documents.py): allowed like the persisted ones."""
    allowed = load_allow_list(limits.persisted_queries) if limits.persisted_queries else None
    rules: list[type[ASTValidationRule]] = [cost_rule(limits.max_cost, limits.assumed_list_size, entities)]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # The depth and alias limiters build a new rule class in every instance, and strawberry makes
    # an extension instance per request: the validation cache (keyed on the rule classes) would
    # then miss every time. Build their rules once and add them with the others.
    rules = [*QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules, *rules]
    return [
        partial(DocumentLimits, limits.max_document_chars, allowed, registered),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(AddValidationRules, rules),
    ]
