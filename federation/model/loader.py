"""Load the built-in model, merge a config's `model:` section on top, and check the result."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from federation.model.declaration import SCALARS, EntityDecl, ModelDecl

__all__ = ["builtin_model", "check_model", "merge_models"]

_RESERVED_FIELDS = {"id", "source", "sourceRecords", "conflicts", "flags", "timeline"}


@cache
def builtin_model() -> ModelDecl:
    """The customer model shipped with Onepane."""
    text = resources.files("federation.model").joinpath("customer.yaml").read_text("utf-8")
    return ModelDecl.model_validate(yaml.safe_load(text))


def merge_models(base: ModelDecl, overlay: dict[str, Any]) -> ModelDecl:
    """Add the overlay's enums, entities and entity members to `base` (validated by the caller)."""
    data = base.model_dump(by_alias=True, exclude_defaults=True)
    data.setdefault("enums", {}).update(overlay.get("enums", {}))
    entities = data.setdefault("entities", {})
    for name, entity in (overlay.get("entities") or {}).items():
        target = entities.setdefault(name, {})
        for section, value in (entity or {}).items():
            if isinstance(value, dict) and isinstance(target.get(section), dict):
                target[section] = {**target[section], **value}
            else:
                target[section] = value
    return ModelDecl.model_validate(data)


def check_model(model: ModelDecl) -> list[tuple[str, str, str]]:
    """Every inconsistency as (path, problem, valid choices); an empty list means consistent."""
    problems: list[tuple[str, str, str]] = []
    types = set(SCALARS) | set(model.enums)
    entity_names = sorted(model.entities)
    for name, entity in model.entities.items():
        problems += _check_entity(model, name, entity, types, entity_names)
    return problems


def _check_entity(
    model: ModelDecl, name: str, entity: EntityDecl, types: set[str], entity_names: list[str]
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    base = f"model.entities.{name}"
    members = set(entity.fields) | set(entity.relations)
    for field_name, decl in entity.fields.items():
        if field_name in _RESERVED_FIELDS:
            out.append((f"{base}.fields.{field_name}", "is a reserved field name", ""))
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
            out.append((path, f"'{rel_name}' is both a field and a relation", ""))
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
