"""Load the built-in model, merge a config's `model:` section on top, and check the result."""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

from federation.model.declaration import SCALARS, EntityDecl, ModelDecl, RootDecl, parse_type

__all__ = ["BUILTIN_ROOTS", "builtin_model", "check_model", "check_overlay", "merge_models"]

# Fields every entity type gets generated; `id` may be declared instead (e.g. `id: {type: Int}`).
_RESERVED_FIELDS = {"source", "sourceRecords", "conflicts", "flags", "timeline"}
# The built-in contract's root fields (federation/api/roots.py) and the entity each one starts at.
BUILTIN_ROOTS: dict[str, str | None] = {
    "customer": "Customer", "customers": "Customer", "purchase": "Purchase", "purchases": "Purchase",
    "case": "Case", "sources": None,
}
_SECTIONS = ("enums", "entities", "roots")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_ARGS = {"info", "root", "self"}
Problem = tuple[str, str, str]


@cache
def builtin_model() -> ModelDecl:
    """The customer model shipped with Onepane."""
    text = resources.files("federation.model").joinpath("customer.yaml").read_text("utf-8")
    return ModelDecl.model_validate(yaml.safe_load(text))


def merge_models(base: ModelDecl, overlay: dict[str, Any]) -> ModelDecl:
    """Add the overlay's enums, entities and entity members to `base` (validated by the caller)."""
    data = base.model_dump(by_alias=True, exclude_defaults=True)
    data.setdefault("enums", {}).update(overlay.get("enums") or {})
    data.setdefault("roots", {}).update(overlay.get("roots") or {})
    data.update({k: v for k, v in overlay.items() if k not in _SECTIONS})  # pydantic reports them
    entities = data.setdefault("entities", {})
    for name, entity in (overlay.get("entities") or {}).items():
        target = entities.setdefault(name, {})
        for section, value in (entity or {}).items():
            if section == "keys" and isinstance(value, dict) and isinstance(target.get(section), dict):
                # A key is merged member by member, so `orderNumber: {scope: source}` changes only
                # where the built-in key links, not its normalizer or whether it links.
                known = target[section]
                target[section] = {**known, **{k: {**known[k], **v} if isinstance(v, dict) and isinstance(
                    known.get(k), dict) else v for k, v in value.items()}}
            elif isinstance(value, dict) and isinstance(target.get(section), dict):
                target[section] = {**target[section], **value}
            else:
                target[section] = value
    return ModelDecl.model_validate(data)


def check_model(model: ModelDecl) -> list[Problem]:
    """Every inconsistency as (path, problem, valid choices); an empty list means consistent."""
    problems: list[Problem] = []
    types = set(SCALARS) | set(model.enums)
    entity_names = sorted(model.entities)
    for name, entity in model.entities.items():
        problems += _check_entity(model, name, entity, types, entity_names)
    for name, root in model.roots.items():
        problems += _check_root(model, name, root, types)
    problems += _check_cycles(model)
    return problems


def check_overlay(base: ModelDecl, overlay: dict[str, Any]) -> list[Problem]:
    """What a config's `model:` may not change in the built-in model: types and generated ids."""
    out: list[Problem] = []
    for name, entity in (overlay.get("entities") or {}).items():
        if name not in base.entities or not isinstance(entity, dict):
            continue
        builtin = base.entities[name]
        for field_name, field in (entity.get("fields") or {}).items():
            path = f"model.entities.{name}.fields.{field_name}"
            if field_name == "id":
                out.append((path, f"{name} is built in and keeps the gateway's id: ID!",
                            "another field name"))
            known = builtin.fields.get(field_name)
            given = field.get("type") if isinstance(field, dict) else None
            if known is not None and given is not None and given != known.type:
                out.append((f"{path}.type", f"{name}.{field_name} is built in as {known.type}; a config may "
                            "change its merge rule, not its type", known.type))
            if field_name in builtin.relations:
                out.append((path, f"{name}.{field_name} is already a built-in relation", "another field name"))
        for rel_name in entity.get("relations") or {}:
            if rel_name in builtin.fields:
                out.append((f"model.entities.{name}.relations.{rel_name}",
                            f"{name}.{rel_name} is already a built-in field", "another relation name"))
    return out


def _check_entity(
    model: ModelDecl, name: str, entity: EntityDecl, types: set[str], entity_names: list[str]
) -> list[tuple[str, str, str]]:
    out: list[Problem] = []
    base = f"model.entities.{name}"
    members = set(entity.fields) | set(entity.relations)
    for field_name, decl in entity.fields.items():
        if field_name in _RESERVED_FIELDS:
            out.append((f"{base}.fields.{field_name}", "is a reserved field name (generated for every entity)",
                        f"any name but {', '.join(sorted(_RESERVED_FIELDS))}"))
        if decl.type_ref.name not in types:
            out.append((f"{base}.fields.{field_name}.type", f"unknown type '{decl.type_ref.name}'",
                        ", ".join(sorted(types))))
        if decl.raw_of and decl.raw_of not in entity.fields:
            out.append((f"{base}.fields.{field_name}.rawOf", f"no field '{decl.raw_of}'",
                        ", ".join(sorted(entity.fields))))
    if entity.name_field and entity.name_field not in entity.fields:
        out.append((f"{base}.nameField", f"no field '{entity.name_field}'", ", ".join(sorted(entity.fields))))
    for rel_name, rel in entity.relations.items():
        path = f"{base}.relations.{rel_name}"
        if rel_name in entity.fields:
            out.append((path, f"'{rel_name}' is both a field and a relation", "another relation name"))
        if rel_name in _RESERVED_FIELDS or rel_name == "id":
            out.append((path, "is a reserved field name (generated for every entity)",
                        f"any name but id, {', '.join(sorted(_RESERVED_FIELDS))}"))
        target = model.entities.get(rel.entity)
        if target is None:
            out.append((f"{path}.entity", f"unknown entity '{rel.entity}'", ", ".join(entity_names)))
            continue
        if not (rel.ref or rel.backref or rel.keys):
            out.append((path, "says neither ref, backref nor keys: it can never resolve", ""))
        for mine, theirs in rel.keys.items():
            if mine not in entity.keys:
                out.append((f"{path}.keys.{mine}", f"{name} has no key '{mine}'",
                            ", ".join(sorted(entity.keys))))
            if theirs not in target.keys:
                out.append((f"{path}.keys.{mine}", f"{rel.entity} has no key '{theirs}'",
                            ", ".join(sorted(target.keys))))
    for hint in entity.display:
        if hint not in members:
            close = difflib.get_close_matches(hint, sorted(members), n=3, cutoff=0.6)
            out.append((f"{base}.display.{hint}", f"{name} has no field or relation '{hint}'"
                        + (f" (close: {', '.join(close)})" if close else ""), ", ".join(sorted(members))))
    for i, route in enumerate(entity.timeline_from):
        out += _check_route(model, name, route, f"{base}.timelineFrom[{i}]")
    if entity.timeline and entity.timeline.at not in entity.fields:
        out.append((f"{base}.timeline.at", f"no field '{entity.timeline.at}'", ", ".join(sorted(members))))
    for flag_name, flag in entity.flags.items():
        if flag.relation not in entity.relations:
            out.append((f"{base}.flags.{flag_name}.relation", f"no relation '{flag.relation}'",
                        ", ".join(sorted(entity.relations))))
    return out


def _check_route(model: ModelDecl, name: str, route: str, path: str) -> list[tuple[str, str, str]]:
    entity = model.entities[name]
    for step in route.split("."):
        rel = entity.relations.get(step)
        if rel is None or rel.entity not in model.entities:
            return [(path, f"'{step}' is not a relation of {name}", ", ".join(sorted(entity.relations)))]
        name, entity = rel.entity, model.entities[rel.entity]
    if entity.timeline is None:
        return [(path, f"{name} declares no timeline entry", "")]
    return []


def _check_root(model: ModelDecl, name: str, root: RootDecl, types: set[str]) -> list[Problem]:
    path = f"model.roots.{name}"
    if name in BUILTIN_ROOTS:
        return [(path, f"clashes with the built-in root field '{name}'",
                 f"any name but {', '.join(BUILTIN_ROOTS)}")]
    if not _NAME.match(name) or name.startswith("__"):
        return [(path, f"'{name}' is not a GraphQL field name", "letters, digits and _, not starting with __")]
    if root.entity is None:
        return _check_constant(path, root, types)
    entity = model.entities.get(root.entity)
    if entity is None:
        return [(f"{path}.entity", f"unknown entity '{root.entity}'", ", ".join(sorted(model.entities)))]
    out: list[Problem] = []
    if root.type is not None or root.value is not None:
        out.append((path, "an entity root takes no type or value (those make a constant root)", "entity, list, "
                    "by, args, order"))
    lookups = ["id", *entity.keys]
    if root.by is not None and root.by not in lookups:
        out.append((f"{path}.by", f"{root.entity} has no id or key '{root.by}'", ", ".join(lookups)))
    if root.by is None and not root.many:
        out.append((path, "returns one entity but says no `by`: give `by: id` or a key, or `list: true`",
                    ", ".join(lookups)))
    if root.by is not None and root.args:
        out.append((f"{path}.args", "a lookup `by` takes no other arguments", "drop args or drop by"))
    members = sorted({*entity.fields, *entity.keys})
    for arg_name, arg in root.args.items():
        at = f"{path}.args.{arg_name}"
        if not _NAME.match(arg_name) or arg_name in _RESERVED_ARGS:
            out.append((at, f"'{arg_name}' cannot be an argument name", "a GraphQL name but info, root, self"))
        if arg.field not in entity.fields and arg.field not in entity.keys:
            out.append((f"{at}.field", f"{root.entity} has no field or key '{arg.field}'", ", ".join(members)))
        if arg.type is not None and parse_type(arg.type).name not in types:
            out.append((f"{at}.type", f"unknown type '{parse_type(arg.type).name}'", ", ".join(sorted(types))))
    for i, item in enumerate(root.order):
        if item.lstrip("-") not in entity.fields:
            out.append((f"{path}.order[{i}]", f"{root.entity} has no field '{item.lstrip('-')}'",
                        ", ".join(sorted(entity.fields))))
    return out


def _check_constant(path: str, root: RootDecl, types: set[str]) -> list[Problem]:
    if root.type is None or root.value is None:
        return [(path, "says no entity: a constant root needs both `type` and `value`",
                 "entity: <Entity>, or type: String! with value: ...")]
    name = parse_type(root.type).name
    if name not in types:
        return [(f"{path}.type", f"unknown type '{name}'", ", ".join(sorted(types)))]
    return []


def _check_cycles(model: ModelDecl) -> list[Problem]:
    """Entities that only reach each other in a cycle, with no root leading in, can never resolve."""
    starts = {e for e in BUILTIN_ROOTS.values() if e} | {r.entity for r in model.roots.values() if r.entity}
    reached: set[str] = set()
    frontier = [e for e in starts if e in model.entities]
    while frontier:
        name = frontier.pop()
        if name in reached:
            continue
        reached.add(name)
        frontier += [r.entity for r in model.entities[name].relations.values() if r.entity in model.entities]
    out: list[Problem] = []
    for group in _cycles(model):
        if not group & reached:
            names = " → ".join(sorted(group))
            out.append((f"model.entities.{min(group)}.relations",
                        f"{names} only reach each other: no root field or other relation leads into this "
                        "cycle, so it can never resolve",
                        f"declare a root under model.roots for one of {', '.join(sorted(group))}, or a "
                        "relation to one of them from an entity a query can reach"))
    return out


def _cycles(model: ModelDecl) -> list[set[str]]:
    """Strongly connected groups of entities joined by relations (a self-relation counts)."""
    edges = {n: {r.entity for r in e.relations.values() if r.entity in model.entities}
             for n, e in model.entities.items()}
    groups: list[set[str]] = []
    seen: set[str] = set()
    for name in edges:
        if name in seen:
            continue
        forward, backward = _reach(edges, name), _reach(_reverse(edges), name)
        group = forward & backward
        seen |= group
        if len(group) > 1 or name in edges[name]:
            groups.append(group)
    return groups


def _reach(edges: dict[str, set[str]], start: str) -> set[str]:
    out, frontier = {start}, [start]
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in out:
                out.add(nxt)
                frontier.append(nxt)
    return out


def _reverse(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {n: set() for n in edges}
    for name, targets in edges.items():
        for target in targets:
            out[target].add(name)
    return out
