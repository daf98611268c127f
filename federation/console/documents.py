"""The console's and the MCP tools' GraphQL documents, generated from the served model for each role.

Built-in and config-added fields and relations are all selected (a config's `warranties` or
`loyaltyTier` reach the agent without code), fields the role may not read are left out, masked
ones are still read (the mask applies on the way out). Every generated document's hash is
registered with the persisted-query allow-list, so a deployment that only runs listed documents
still runs these and nothing else.

Shape: each entity gets one fragment. Entities are placed by distance from Customer (at most
`MAX_LEVEL` relations deep); a relation to the next level is followed in full, a relation to an
entity already placed nearer Customer is read as a short reference (id and a few label fields),
and a relation back to Customer is left out (it is the customer on screen).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
    parse,
    validate,
)
from strawberry.extensions import QueryDepthLimiter

from federation.model.declaration import DisplayDecl, EntityDecl, ModelDecl
from federation.model.loader import builtin_model
from federation.security.limits import cost_rule, document_hash
from federation.security.policy import Policy
from federation.security.settings import LimitSettings, SecuritySettings

__all__ = ["MAX_LEVEL", "ROOT", "Documents", "RoleDocuments", "label_of"]

log = logging.getLogger("federation.console")
ROOT = "Customer"
MAX_LEVEL = 3
SEARCH_ARGS = ("email", "phone", "name", "loyaltyNumber", "orderNumber", "sourceRef")
# Tried together in one request when the console cannot tell them apart (digits: a phone or a card number).
SEARCH_COMBINATIONS = (("phone", "loyaltyNumber"),)
_GENERATED = ("sourceRecords", "conflicts", "flags")
_FORMATS = {"DateTime": "datetime", "Date": "date", "Money": "money", "Boolean": "yesno", "Int": "number",
            "Float": "number", "Decimal": "number"}
Allowed = Callable[[str, str], bool]


@dataclass(frozen=True)
class RoleDocuments:
    """What one role's console and tools run, and how the console lays the answers out."""

    documents: dict[str, str]
    layout: dict[str, Any]
    hashes: frozenset[str] = field(default_factory=frozenset)

    def public(self, sources: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON the console reads from GET /console/document."""
        return {"documents": self.documents, "layout": self.layout, "sources": dict(sources)}


def label_of(name: str) -> str:
    """`loyaltyTier` → "Loyalty tier", `dateOfBirth` → "Date of birth"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


class Documents:
    """Every role's generated documents, built once when the app starts (so every worker agrees)."""

    def __init__(self, model: ModelDecl, schema: GraphQLSchema, security: SecuritySettings | None,
                 registered: set[str] | None = None) -> None:
        self.model, self.schema = model, schema
        self._roles: dict[str | None, RoleDocuments] = {}
        limits = security.limits if security else LimitSettings()
        # The limits every request meets: cost and depth (a config's relations or nested
        # explanations can take a document past max_depth as well as past max_cost).
        rules = [cost_rule(limits.max_cost, limits.assumed_list_size, frozenset(model.entities)),
                 *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules]

        fits: dict[str, bool] = {}  # roles that read the same fields get the same text: check it once

        def budget(text: str) -> bool:
            if text not in fits:
                fits[text] = not validate(schema, self._parse(text), rules)
            return fits[text]

        self._problems: dict[str, str | None] = {}
        self._parsed: dict[str, DocumentNode] = {}
        self._hashes: dict[str, str] = {}

        if security is None:
            self._roles[None] = self._build(lambda _t, _f: True, budget)
        else:
            guarded = frozenset(model.entities) | {"Query", "Mutation"}
            for name, settings in security.roles.items():
                self._roles[name] = self._build(_reads(Policy(name, settings, guarded)), budget)
        if registered is not None:
            for built in self._roles.values():
                registered.update(built.hashes)
        self._parsed.clear()  # only needed while building

    def for_role(self, role: str | None) -> RoleDocuments | None:
        return self._roles.get(role) if role in self._roles else self._roles.get(None)

    def _build(self, allowed: Allowed, budget: Callable[[str], bool]) -> RoleDocuments:
        """The deepest documents that fit the role's cost budget (a large config reads less deep)."""
        for depth in range(MAX_LEVEL, 0, -1):
            built = self._build_at(allowed, depth)
            if all(budget(built.documents[name]) for name in _representatives(built.documents)):
                return built
        return built

    def _hash(self, text: str) -> str:
        if text not in self._hashes:
            self._hashes[text] = document_hash(text, self._parse(text))
        return self._hashes[text]

    def _parse(self, text: str) -> DocumentNode:
        if text not in self._parsed:
            self._parsed[text] = parse(text)
        return self._parsed[text]

    def _problem(self, text: str) -> str | None:
        if text not in self._problems:
            problems = validate(self.schema, self._parse(text))
            self._problems[text] = problems[0].message if problems else None
        return self._problems[text]

    def _build_at(self, allowed: Allowed, depth: int) -> RoleDocuments:
        console = _Writer(self.model, self.schema, allowed, "Console", depth=depth)
        agent = _Writer(self.model, self.schema, allowed, "Agent", extras=False, depth=depth)
        documents: dict[str, str] = {}
        query = self.schema.query_type
        if ROOT in self.model.entities and query is not None:
            customers = query.fields.get("customers")
            if customers is not None and allowed("Query", "customers"):
                args = [a for a in SEARCH_ARGS if a in customers.args]
                for tries in [*([a] for a in args), *(list(c) for c in SEARCH_COMBINATIONS if set(c) <= set(args))]:
                    documents["search." + "+".join(tries)] = console.search(tries)
            if "purchases" in query.fields and allowed("Query", "purchases") and "Purchase" in self.model.entities:
                documents["card"] = console.card()
            if "customer" in query.fields and allowed("Query", "customer"):
                documents["customer_360"] = agent.customer_360()
        mutation = self.schema.mutation_type
        for name, op in (("linkRecords", "ConsoleLink"), ("unlinkRecords", "ConsoleUnlink")):
            if mutation is not None and name in mutation.fields and allowed("Mutation", name):
                documents[name] = (f"mutation {op}($a: ID!, $b: ID!, $reason: String!) {{\n"
                                   f"  {name}(a: $a, b: $b, reason: $reason) {{ kind principal createdAt }}\n}}\n")
        for name in _representatives(documents):
            problem = self._problem(documents[name])
            if problem is not None:  # a schema this generator does not know yet: the console says it is not offered
                log.warning("generated document %s left out: %s", name, problem)
                family = name.split(".")[0]
                for gone in [n for n in documents if n.split(".")[0] == family]:
                    del documents[gone]
        hashes = frozenset(self._hash(text) for text in documents.values())
        return RoleDocuments(documents, console.layout(), hashes)


def _representatives(documents: Mapping[str, str]) -> set[str]:
    """The documents worth checking: every search shares its fragments with the widest one, whose
    operation is a superset of theirs (so its cost is the highest and its validity covers theirs)."""
    searches = [n for n in documents if n.startswith("search.")]
    out = {n for n in documents if not n.startswith("search.")}
    if searches:
        out.add(max(searches, key=lambda n: n.count("+")))
    return out


class _Writer:
    """Writes one family of fragments (one prefix) for one role."""

    def __init__(self, model: ModelDecl, schema: GraphQLSchema, allowed: Allowed, prefix: str,
                 extras: bool = True, depth: int = MAX_LEVEL) -> None:
        self.model, self.schema, self.allowed, self.prefix, self.extras = model, schema, allowed, prefix, extras
        self.levels = _levels(model, ROOT, depth)
        self._fragments: dict[str, str] = {}

    # ------------------------------------------------------------------ documents

    def search(self, names: list[str]) -> str:
        params = ", ".join(f"${a}: String" for a in names)
        body = "\n".join(f"  {a}: customers({a}: ${a}) {{ ...{self.fragment(ROOT)} }}" for a in names)
        return f"query ConsoleSearch({params}) {{\n{body}\n}}\n" + self._emitted()

    def card(self) -> str:
        self._fragments.clear()
        owner = f" customer {{ ...{self.fragment(ROOT)} }}" if self.allowed("Purchase", "customer") else ""
        return ("query ConsoleCardSearch($filter: PurchaseFilter) {\n"
                f"  purchases(filter: $filter, first: 20) {{ nodes {{ ...{self.fragment('Purchase')}{owner} }} }}\n"
                "}\n" + self._emitted())

    def customer_360(self) -> str:
        self._fragments.clear()
        return ("query AgentCustomer360($id: ID!) {\n"
                f"  customer(id: $id) {{ ...{self.fragment(ROOT)} }}\n}}\n" + self._emitted())

    def _emitted(self) -> str:
        text = "".join(self._fragments.values())
        self._fragments.clear()
        return text

    # ------------------------------------------------------------------ fragments

    def fragment(self, entity: str) -> str:
        name = f"{self.prefix}{entity}"
        if name not in self._fragments:
            self._fragments[name] = ""  # placeholder: a relation back to this entity must not recurse
            lines = self._entity_lines(entity)
            self._fragments[name] = f"\nfragment {name} on {entity} {{\n  " + "\n  ".join(lines) + "\n}\n"
        return name

    def _entity_lines(self, entity: str) -> list[str]:
        decl = self.model.entities[entity]
        gql = self._object(entity)
        lines = [f for f in ("id",) if f in gql.fields]
        for name in decl.fields:
            if self._readable(entity, name, decl):
                lines.append(name + self._leaf(gql.fields[name].type))
        for name in _GENERATED:
            if name in gql.fields and self.allowed(entity, name):
                lines.append(name + self._leaf(gql.fields[name].type))
        level = self.levels.get(entity, 99)
        for name, rel in decl.relations.items():
            if not self._readable(entity, name, decl) or rel.entity == ROOT:
                continue
            target = self.levels.get(rel.entity)
            if target == level + 1:
                lines.append(f"{name} {{ ...{self.fragment(rel.entity)} }}")
            elif target is not None and target <= level:
                lines.append(f"{name} {{ {' '.join(self._reference(rel.entity))} }}")
        if entity == ROOT and self.extras:
            if "timeline" in gql.fields and self.allowed(entity, "timeline"):
                lines.append("timeline" + self._leaf(gql.fields["timeline"].type))
            if "possibleMatches" in gql.fields and self.allowed(entity, "possibleMatches"):
                lines.append(self._possible_matches(gql.fields["possibleMatches"].type))
        return lines

    def _readable(self, entity: str, name: str, decl: EntityDecl) -> bool:
        hint = decl.display.get(name)
        return (name in self._object(entity).fields and self.allowed(entity, name)
                and not (hint is not None and hint.hidden))

    def _reference(self, entity: str) -> list[str]:
        """A short reference: id, the name field and the first few other plain fields."""
        decl = self.model.entities[entity]
        gql = self._object(entity)
        names = [decl.name_field] if decl.name_field else []
        names += [n for n in decl.fields if n not in names]
        picked = [n for n in names if self._readable(entity, n, decl)][:4]
        return ["id", *(n + self._leaf(gql.fields[n].type) for n in picked)]

    def _possible_matches(self, kind: GraphQLType) -> str:
        named = get_named_type(kind)
        assert isinstance(named, GraphQLObjectType)
        parts = [n for n, f in named.fields.items() if not isinstance(get_named_type(f.type), GraphQLObjectType)
                 and self.allowed(named.name, n)]
        if "customer" in named.fields and self.allowed(named.name, "customer"):
            decl = self.model.entities[ROOT]
            who = [n + self._leaf(self._object(ROOT).fields[n].type) for n in decl.fields
                   if self._readable(ROOT, n, decl)]
            if self.allowed(ROOT, "sourceRecords"):
                who.append("sourceRecords { source localId }")
            parts.append(f"customer {{ id {' '.join(who)} }}")
        return f"possibleMatches {{ {' '.join(parts)} }}"

    def _leaf(self, kind: GraphQLType, depth: int = 0) -> str:
        """The selection under a field: nothing for a scalar or enum, every readable part of an object.

        Objects nest one level at most (`matchedBy { rule other matchProbability … }`, not its
        comparisons): the depth goes to the entities' relations, which the screen shows."""
        named = get_named_type(kind)
        if not isinstance(named, GraphQLObjectType):
            return ""
        parts = []
        for name, member in named.fields.items():
            if named.name in self.model.entities or not self.allowed(named.name, name):
                continue
            if isinstance(get_named_type(member.type), GraphQLObjectType):
                if depth >= 1:
                    continue  # an object here needs a selection the depth budget keeps for relations
                parts.append(name + self._leaf(member.type, depth + 1))
            else:
                parts.append(name)
        return f" {{ {' '.join(parts)} }}" if parts else ""

    def _object(self, name: str) -> GraphQLObjectType:
        kind = self.schema.get_type(name)
        assert isinstance(kind, GraphQLObjectType), name
        return kind

    # ------------------------------------------------------------------ layout

    def layout(self) -> dict[str, Any]:
        """Per entity: its fields and relations in display order, with labels and formats."""
        entities: dict[str, Any] = {}
        for entity in self.levels:
            decl = self.model.entities[entity]
            fields = [self._field_layout(entity, decl, n) for n in decl.fields if self._readable(entity, n, decl)]
            relations = [self._relation_layout(entity, decl, n) for n, r in decl.relations.items()
                         if self._readable(entity, n, decl) and r.entity != ROOT and r.entity in self.levels]
            entities[entity] = {"label": label_of(entity), "description": decl.description,
                                "nameField": decl.name_field, "fields": _ordered(fields),
                                "relations": _ordered(relations)}
        # Every enum value of the model: the console turns them into words where they appear inside
        # a timeline summary's text ("WEB purchase 1001 (DELIVERED…)"), the raw value on hover.
        values = sorted({value for members in self.model.enums.values() for value in members})
        return {"root": ROOT, "entities": entities, "enumValues": values}

    def _field_layout(self, entity: str, decl: EntityDecl, name: str) -> dict[str, Any]:
        fdecl = decl.fields[name]
        hint = decl.display.get(name) or DisplayDecl()
        gql = self._object(entity).fields[name].type
        named = get_named_type(gql)
        inner = gql.of_type if isinstance(gql, GraphQLNonNull) else gql
        default = "status" if isinstance(named, GraphQLEnumType) else _FORMATS.get(named.name, "text")
        return {"name": name, "label": hint.label or label_of(name), "format": hint.format or default,
                "list": isinstance(inner, GraphQLList), "section": hint.section,
                "order": hint.order, "rawOf": fdecl.raw_of, "description": fdecl.description,
                "builtin": _builtin(entity, name)}

    def _relation_layout(self, entity: str, decl: EntityDecl, name: str) -> dict[str, Any]:
        rel = decl.relations[name]
        hint = decl.display.get(name) or DisplayDecl()
        level, target = self.levels.get(entity, 99), self.levels.get(rel.entity)
        return {"name": name, "label": hint.label or label_of(name), "entity": rel.entity, "many": rel.many,
                "mode": "full" if target == level + 1 else "reference", "section": hint.section,
                "order": hint.order, "builtin": _builtin(entity, name)}


def _reads(policy: Policy) -> Allowed:
    """Masked fields are read (masked on the way out); denied ones are left out."""
    return lambda type_name, field_name: policy.decide(type_name, field_name).action != "deny"


def _builtin(entity: str, member: str) -> bool:
    decl = builtin_model().entities.get(entity)
    return decl is not None and (member in decl.fields or member in decl.relations)


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Declared order first (stable), then the model's own order."""
    return sorted(items, key=lambda item: (item["order"] is None, item["order"] or 0))


def _levels(model: ModelDecl, root: str, depth: int) -> dict[str, int]:
    """Each entity's distance from `root` along relations that are not hidden, up to MAX_LEVEL."""
    if root not in model.entities:
        return {}
    levels = {root: 0}
    frontier = [root]
    while frontier:
        nxt: list[str] = []
        for name in frontier:
            decl = model.entities[name]
            for rel_name, rel in decl.relations.items():
                hint = decl.display.get(rel_name)
                if (hint is not None and hint.hidden) or rel.entity in levels or rel.entity not in model.entities:
                    continue
                if levels[name] + 1 <= depth:
                    levels[rel.entity] = levels[name] + 1
                    nxt.append(rel.entity)
        frontier = nxt
    return levels
