"""Key scope: which sources' values of a match key mean the same thing, so equal values may link.

Every (entity, key, source) falls into one bucket; two records' equal values link only when
their buckets are the same, or the key is global:

- `global`: one bucket for every source (email, phone, loyalty numbers);
- `source`: a bucket per source (an order number one system issues);
- `{group: web-orders}` or `{group: [shop, pos]}`: one bucket for the group's sources; a source
  outside the group keeps a bucket of its own (its numbers link only among its records).

A relation `keys: {mine: theirs}` follows a link only when both keys' scopes allow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from federation.model.declaration import GroupScope, ModelDecl

__all__ = ["GLOBAL", "Scopes", "scope_problems"]

GLOBAL = ""  # the bucket of a global key: every source's values compare
Problem = tuple[str, str, str]


class Scopes:
    """A model's key scopes with the config's named groups resolved; answers are memoized."""

    def __init__(self, model: ModelDecl, groups: Mapping[str, Sequence[str]]) -> None:
        self._model = model
        self._groups = {name: frozenset(sources) for name, sources in groups.items()}
        self._buckets: dict[tuple[str, str, str], str] = {}

    def bucket(self, entity: str, key: str, source: str) -> str:
        """GLOBAL, `source shop` or `group web-orders`: values link only inside one bucket."""
        cached = self._buckets.get((entity, key, source))
        if cached is None:
            cached = self._buckets[(entity, key, source)] = self._bucket(entity, key, source)
        return cached

    def bucketer(self, entity: str) -> Callable[[str, str], str]:
        """`bucket` for one entity: (key, source) -> bucket, as clustering and blocking take it."""
        return lambda key, source: self.bucket(entity, key, source)

    def _bucket(self, entity: str, key: str, source: str) -> str:
        decl = self._model.entities[entity].keys.get(key) if entity in self._model.entities else None
        scope = decl.effective_scope if decl is not None else "source"
        if scope == "global":
            return GLOBAL
        if isinstance(scope, GroupScope):
            members, name = self.members(scope)
            if source in members:
                return f"group {name}"
        return f"source {source}"

    def members(self, scope: GroupScope) -> tuple[frozenset[str], str]:
        """The group's sources and the name `linkedBy` shows for it."""
        if isinstance(scope.group, str):
            return self._groups.get(scope.group, frozenset()), scope.group
        return frozenset(scope.group), "[" + ", ".join(scope.group) + "]"

    def is_global(self, entity: str, key: str) -> bool:
        decl = self._model.entities[entity].keys.get(key)
        return decl is not None and decl.effective_scope == "global"

    def links(self, entity: str, key: str, a: str, b: str) -> bool:
        """May a value of `key` held in source `a` link to the same value held in source `b`?"""
        bucket = self.bucket(entity, key, a)
        return bucket == GLOBAL or bucket == self.bucket(entity, key, b)

    def reaches(self, entity: str, key: str, source: str, candidates: Iterable[str]) -> list[str]:
        """The `candidates` (sources, in their order) that a value held in `source` may link to."""
        return [c for c in candidates if self.links(entity, key, source, c)]

    def relation_links(self, entity: str, mine: str, a: str, target: str, theirs: str, b: str) -> bool:
        """A relation `keys: {mine: theirs}` from a record in `a` to one in `b`: both scopes must allow it."""
        return self.links(entity, mine, a, b) and self.links(target, theirs, b, a)


def scope_problems(model: ModelDecl, groups: Mapping[str, Sequence[str]],
                   sources: Sequence[str]) -> list[Problem]:
    """Named groups and key scopes that name an unknown source or group, as (path, problem, valid)."""
    out: list[Problem] = []
    known = ", ".join(sources)
    for name, members in groups.items():
        path = f"gateway.key_groups.{name}"
        out += [(f"{path}[{i}]", f"no source '{s}'", known) for i, s in enumerate(members) if s not in sources]
    for entity_name, entity in model.entities.items():
        for key_name, key in entity.keys.items():
            scope = key.scope
            if not isinstance(scope, GroupScope):
                continue
            path = f"model.entities.{entity_name}.keys.{key_name}.scope.group"
            if isinstance(scope.group, str):
                if scope.group not in groups:
                    out.append((path, f"no key group '{scope.group}' in gateway.key_groups",
                                ", ".join(groups) or "none declared: add gateway.key_groups, or list the sources"))
                continue
            out += [(f"{path}[{i}]", f"no source '{s}'", known) for i, s in enumerate(scope.group) if s not in sources]
    return out
