"""`federation check`'s key-scope probe: do two sources' numbers collide, and do they mean one thing?

For every key that can link records (`links: true`, or a relation's `keys:`) and is not a
contact detail (email, phone: those are the evidence), each source that maps it is sampled:
one bounded, read-only search (`per_source` records, within the source's timeout). Values found
in two sources are compared on the records' other evidence: their global keys (email, phone,
loyalty number), their name, and the same of the records their same-source refs point at (a
purchase's customer), fetched by id in one batch per source.

- The scope links the two sources (global, or one group) but most colliding values' records
  disagree: a **warning**, the numbers are probably each system's own.
- The scope keeps them apart (`source`, or not in one group) but the colliding records agree:
  a **note**, the systems probably share the numbering and could declare a group.

Nothing here imports a connector: it speaks the `Connector` contract only.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from federation.contract import Connector
from federation.identity.sampling import SourceSamples
from federation.identity.scope import GLOBAL, Scopes
from federation.identity.scoring import names_agree
from federation.model.declaration import EntityDecl, GroupScope, ModelDecl
from federation.records import Record

__all__ = ["Collision", "find_collisions"]

_EVIDENCE_NORMALIZERS = frozenset({"email", "phone"})
Evidence = dict[str, frozenset[str]]  # label ("customer email") -> normalized values


@dataclass(frozen=True, slots=True)
class Collision:
    """Values of one key found in two sources, and what their records' other evidence says."""

    entity: str
    key: str
    sources: tuple[str, str]
    linked: bool  # does the key's scope link these two sources?
    scope: str  # how the key's scope reads in a message: "source", "group web-orders", "global"
    values: int
    agree: int
    disagree: int
    differing: tuple[str, ...]  # labels of the evidence that differed ("customer email")
    examples: tuple[str, ...]

    @property
    def warning(self) -> bool:
        """Linked, yet most colliding values whose records can be compared disagree."""
        return self.linked and self.disagree > 0 and self.disagree >= self.agree

    @property
    def note(self) -> bool:
        """Kept apart, yet the colliding records agree: the systems may share the numbering."""
        return not self.linked and self.agree > 0 and self.agree > self.disagree

    def message(self) -> str:
        a, b = self.sources
        where = f"{self.entity}.{self.key}: {self.values} value(s) appear in both {a} and {b}"
        shown = ", ".join(self.examples)
        if self.warning:
            what = " and ".join(self.differing) or "their other keys"
            fix = ("set scope: source on this key" if self.scope == "global"
                   else f"leave one of them out of the key's {self.scope}")
            return (f"{where} (e.g. {shown}) but for {self.disagree} of them the records disagree on {what}, "
                    f"and scope {self.scope} links them; if these systems do not share a numbering, {fix}")
        return (f"{where} (e.g. {shown}) and for {self.agree} of them the records agree; the key's scope "
                f"({self.scope}) keeps them apart: if these systems share a numbering, declare "
                f"scope: {{group: [{a}, {b}, ...]}}")


async def find_collisions(model: ModelDecl, scopes: Scopes, connectors: Mapping[str, Connector],
                          timeouts: Mapping[str, float], per_source: int = 300,
                          samples: SourceSamples | None = None) -> list[Collision]:
    """Every (key, pair of sources) whose sampled values collide; read-only and bounded. `samples`
    shares its reads with `check`'s other probes (a fresh one of `per_source` records otherwise)."""
    samples = samples if samples is not None else SourceSamples(connectors, timeouts, per_source)
    out: list[Collision] = []
    for entity_name, decl in model.entities.items():
        keys = _probed_keys(model, entity_name)
        sources = [s for s, c in connectors.items() if _maps(c, entity_name, keys)]
        if not keys or len(sources) < 2:
            continue
        sampled = dict(zip(sources, await asyncio.gather(*(samples.of(s, entity_name) for s in sources)),
                           strict=True))
        for key in keys:
            holders = {s: _by_value(sampled[s], key) for s in sources}
            for a, b in combinations(sources, 2):
                shared = sorted(set(holders[a]) & set(holders[b]))
                if shared:
                    out.append(await _compare(model, decl, scopes, connectors, timeouts,
                                              entity_name, key, (a, b), shared, holders))
    return out


def _probed_keys(model: ModelDecl, entity: str) -> list[str]:
    """Keys of `entity` that link records (or follow a relation) and are not contact details."""
    decl = model.entities[entity]
    used = set(decl.linking_keys)
    used |= {mine for rel in decl.relations.values() for mine in rel.keys}
    used |= {theirs for other in model.entities.values() for rel in other.relations.values()
             if rel.entity == entity for theirs in rel.keys.values()}
    return [k for k in decl.keys if k in used and decl.keys[k].normalize not in _EVIDENCE_NORMALIZERS]


def _maps(connector: Connector, entity: str, keys: Sequence[str]) -> bool:
    caps = connector.capabilities().entities.get(entity)
    if caps is None or not caps.searchable:
        return False
    return caps.keys is None or bool(caps.keys & set(keys))


def _by_value(records: Sequence[Record], key: str) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        for value in record.keys.get(key, ()):
            out[value].append(record)
    return out


async def _compare(model: ModelDecl, decl: EntityDecl, scopes: Scopes, connectors: Mapping[str, Connector],
                   timeouts: Mapping[str, float], entity: str, key: str, pair: tuple[str, str],
                   shared: list[str], holders: Mapping[str, Mapping[str, list[Record]]]) -> Collision:
    a, b = pair
    involved = {s: [r for v in shared for r in holders[s][v]] for s in pair}
    referenced = {s: await _referenced(model, decl, connectors[s], involved[s], timeouts.get(s, 3.0)) for s in pair}
    agree = disagree = 0
    differing: dict[str, None] = {}
    for value in shared:
        verdicts = [_verdict(model, decl, scopes, key, x, y, referenced[a], referenced[b])
                    for x in holders[a][value] for y in holders[b][value]]
        if any(v is True for v, _ in verdicts):
            agree += 1
        elif any(v is False for v, _ in verdicts):
            disagree += 1
            differing.update(dict.fromkeys(label for _, labels in verdicts for label in labels))
    return Collision(entity, key, pair, scopes.links(entity, key, a, b), _scope_text(decl, key, scopes),
                     len(shared), agree, disagree, tuple(differing), tuple(shared[:3]))


def _scope_text(decl: EntityDecl, key: str, scopes: Scopes) -> str:
    scope = decl.keys[key].effective_scope
    if isinstance(scope, GroupScope):
        return f"group {scopes.members(scope)[1]}"
    return scope


async def _referenced(model: ModelDecl, decl: EntityDecl, connector: Connector, records: Sequence[Record],
                      timeout: float) -> dict[tuple[str, str], Record]:
    """The records `records` point at through `ref` relations, by (relation, local id)."""
    out: dict[tuple[str, str], Record] = {}
    caps = connector.capabilities().entities
    for name, relation in decl.relations.items():
        ids = sorted({r.refs[relation.ref] for r in records if relation.ref and relation.ref in r.refs})
        target = caps.get(relation.entity)
        if not ids or target is None or "id" not in target.lookups:
            continue
        try:
            async with asyncio.timeout(timeout):
                found = await connector.lookup(relation.entity, "id", ids)
        except Exception:  # advice only: without the referenced records there is less evidence
            continue
        out.update(((name, r.local_id), r) for r in found)
    return out


def _verdict(model: ModelDecl, decl: EntityDecl, scopes: Scopes, probed: str, x: Record, y: Record,
             x_refs: Mapping[tuple[str, str], Record], y_refs: Mapping[tuple[str, str], Record],
             ) -> tuple[bool | None, list[str]]:
    """True: some evidence agrees; False: evidence was compared and none agreed (its labels)."""
    (left, left_names), (right, right_names) = (_evidence(model, decl, scopes, probed, x, x_refs),
                                                _evidence(model, decl, scopes, probed, y, y_refs))
    compared = [label for label in left if label in right]
    if any(left[label] & right[label] for label in compared):
        return True, []
    if left_names and right_names:
        compared.append("name")
        if any(names_agree(a, b, f) for a, f in left_names for b, _ in right_names):
            return True, []
    return (False, compared) if compared else (None, [])


Names = list[tuple[Record, str]]  # records that carry a name, with their name field


def _evidence(model: ModelDecl, decl: EntityDecl, scopes: Scopes, probed: str, record: Record,
              refs: Mapping[tuple[str, str], Record]) -> tuple[Evidence, Names]:
    """The record's and its referenced records' global keys by kind, and who is named.

    Kinds are merged: a purchase's own `customerEmail` and its customer's `email` are both
    "email", so a till sale carrying a phone compares with a web order whose customer has one."""
    found: dict[str, set[str]] = defaultdict(set)
    names: Names = []
    others = [refs.get((name, record.refs[rel.ref])) for name, rel in decl.relations.items()
              if rel.ref and rel.ref in record.refs]
    for item in [record, *(o for o in others if o is not None)]:
        entity = model.entities[item.entity]
        for key, values in item.keys.items():
            if item is record and key == probed:
                continue  # the colliding value itself is no evidence that it means one thing
            if values and key in entity.keys and scopes.bucket(item.entity, key, item.source) == GLOBAL:
                found[_label(key)].update(values)
        if entity.name_field and item.fields.get(entity.name_field):
            names.append((item, entity.name_field))
    return {k: frozenset(v) for k, v in found.items()}, names


def _label(key: str) -> str:
    """`customerEmail` → `email`: evidence of one kind compares whatever entity carries it."""
    lower = key.lower()
    for kind in ("email", "phone", "loyalty"):
        if kind in lower:
            return kind
    return key
