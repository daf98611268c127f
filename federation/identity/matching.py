"""Fuzzy candidates: blocking values, which sources can filter on them, scored pairs.

The engine's resolve stage (`Resolver.unify`, engine/resolve.py) fetches candidates that share
a blocking value with the records it has, scores every pair that shares one (match probability
with a trained model, else the weighted mean), auto-links pairs at or above `link` where the rule
auto-links, and offers the rest at or above `suggest` as possible matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import product
from typing import Any

from federation.contract import Capabilities, Condition
from federation.identity.fellegi import IdentityModel, probability, score_trained
from federation.identity.scoring import Comparison, Score, date_variants, score_pair, values_of
from federation.keys import normalize_text
from federation.model.declaration import EntityDecl, ModelDecl
from federation.model.identity import IdentityDecl, RuleDecl
from federation.records import Record

__all__ = [
    "BlockQuery",
    "Match",
    "block_queries",
    "block_signatures",
    "blocking_problems",
    "can_filter",
    "scored_pairs",
]


_NAMES_DISAGREE = frozenset({"family only", "else"})


@dataclass(frozen=True, slots=True)
class Match:
    """Two records a rule scored at or above its `suggest` threshold."""

    a: Record
    b: Record
    score: Score
    rule: RuleDecl

    @property
    def links(self) -> bool:
        """At or above `link` where the rule auto-links; two records whose names disagree only on
        evidence a household does not share."""
        return self.rule.links_automatically(self.score.weight is not None) and self.decisive >= self.rule.link

    @property
    def decisive(self) -> float:
        """The score the thresholds apply to: the match probability, or for records whose names
        disagree, the probability from the evidence a household does not share."""
        return probability(self.personal_weight) if self.names_disagree else self.score.value

    @property
    def offered(self) -> float:
        """The score `suggest` applies to: the match probability, or for records whose names disagree,
        the probability from their personal evidence plus the household's evidence counted once (its
        strongest comparison: an address, a shared postcode, or the family name two relatives share).
        Two relatives at one address are then offered only when the rest of their evidence agrees
        (the same birth date: twins, or a given name replaced), and never merged by it."""
        if not self.names_disagree:
            return self.score.value
        household = [c.weight for c in self.score.comparisons if self._household(c)]
        personal = self.score.prior + sum(c.weight for c in self.score.comparisons if not self._household(c))
        return probability(personal + max([0.0, *household]))

    def _household(self, c: Comparison) -> bool:
        spec = self.rule.compare[c.member]
        return spec.household or (spec.method == "name" and c.level == "family only")

    @property
    def names_disagree(self) -> bool:
        """A trained `name` comparison at `family only` or `else` (relatives, or a name replaced)."""
        if self.score.weight is None:
            return False
        return any(c.level in _NAMES_DISAGREE and self.rule.compare[c.member].method == "name"
                   for c in self.score.comparisons)

    @property
    def personal_weight(self) -> float:
        """The match weight without the comparisons a household shares (addresses, `shared: true`):
        relatives at one address agree on those too, so they cannot tell two relatives apart."""
        return self.score.prior + sum(c.weight for c in self.score.comparisons
                                      if not self.rule.compare[c.member].household)


@dataclass(frozen=True, slots=True)
class BlockQuery:
    """One blocking key to ask the sources about: its parts and, per part, every value wanted."""

    rule: str
    parts: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    max_block: int

    def conditions(self) -> list[Condition]:
        return [Condition(part, "in", list(values)) for part, values in zip(self.parts, self.values, strict=True)]


def _part_values(record: Record, part: str, decl: EntityDecl) -> list[Any]:
    values = values_of(record, part) if part in decl.fields else list(record.keys.get(part, ()))
    field = decl.fields.get(part)
    if (field is not None and field.type_ref.name == "Date") or any(isinstance(v, date) for v in values):
        return date_variants(values)
    return values


def _token(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return normalize_text(value) if isinstance(value, str) else value


Bucket = Callable[[str, str], str]  # (key, source) -> its scope bucket (federation/identity/scope.py)


def block_signatures(record: Record, name: str, rule: RuleDecl, decl: EntityDecl,
                     bucket: Bucket | None = None) -> set[tuple[Any, ...]]:
    """The blocks a record falls in for one rule: (rule, block number, value per part).

    A key part carries its scope bucket, so equal values in different scopes share no block."""
    out: set[tuple[Any, ...]] = set()
    for i, block in enumerate(rule.blocking):
        per_part = [[_scoped(p, record, decl, bucket, _token(v)) for v in _part_values(record, p, decl)]
                    for p in block]
        out |= {(name, i, *combo) for combo in product(*per_part)}
    return out


def _scoped(part: str, record: Record, decl: EntityDecl, bucket: Bucket | None, token: Any) -> Any:
    if bucket is None or part in decl.fields or part not in decl.keys:
        return token
    return bucket(part, record.source), token


def block_queries(identity: IdentityDecl, decl: EntityDecl, records: Sequence[Record]) -> list[BlockQuery]:
    """One query per (rule, blocking key), holding every record's values at once (one call per source)."""
    out = []
    for name, rule in identity.rules.items():
        for block in rule.blocking:
            wanted: list[dict[Any, None]] = [{} for _ in block]
            for record in records:
                per_part = [_part_values(record, p, decl) for p in block]
                if all(per_part):
                    for seen, values in zip(wanted, per_part, strict=True):
                        seen.update(dict.fromkeys(values))
            if all(wanted):
                out.append(BlockQuery(name, tuple(block), tuple(tuple(w) for w in wanted), rule.max_block))
    return out


def can_filter(caps: Any, parts: Sequence[str]) -> str | None:
    """How a source can fetch a block: 'lookup' (one key), 'search' (every part pushed), or None."""
    if caps is None:
        return None
    if len(parts) == 1 and f"key:{parts[0]}" in caps.lookups:
        return "lookup"
    if caps.searchable and all(caps.pushes(Condition(p, "in", [])) for p in parts):
        return "search"
    return None


def scored_pairs(identity: IdentityDecl, decl: EntityDecl, mine: Sequence[Record],
                 others: Sequence[Record], model: IdentityModel | None = None,
                 bucket: Bucket | None = None) -> list[Match]:
    """Every pair (one of `mine`, any record) sharing a block, scored; those at or above `suggest`.

    `bucket` gives a key's scope bucket: a key whose scope keeps two records' sources apart
    neither blocks them together nor counts in their score."""
    trained = {} if model is None else model.rules
    mine_set = set(mine)
    everything = list(dict.fromkeys([*mine, *others]))
    out: list[Match] = []
    for name, rule in identity.rules.items():
        buckets: dict[tuple[Any, ...], list[Record]] = defaultdict(list)
        for record in everything:
            for signature in block_signatures(record, name, rule, decl, bucket):
                buckets[signature].append(record)
        seen: set[tuple[Record, Record]] = set()
        for members in buckets.values():
            if len(members) > rule.max_block:
                continue
            for x in members:
                if x not in mine_set:
                    continue
                for y in members:
                    pair = (x, y) if (x.source, x.local_id) <= (y.source, y.local_id) else (y, x)
                    if x == y or pair in seen:
                        continue
                    seen.add(pair)
                    apart = _apart(rule, decl, bucket, *pair)
                    found = score_trained(name, rule, trained[name], *pair, apart) if name in trained \
                        else score_pair(name, rule, *pair, apart)
                    match = Match(pair[0], pair[1], found, rule) if found is not None else None
                    if match is not None and match.offered >= rule.suggest:
                        out.append(match)
    return sorted(out, key=lambda m: -m.score.value)


def _apart(rule: RuleDecl, decl: EntityDecl, bucket: Bucket | None, a: Record, b: Record) -> frozenset[str]:
    """The rule's compared keys whose scope does not link `a`'s source with `b`'s."""
    if bucket is None or a.source == b.source:
        return frozenset()
    return frozenset(m for m in rule.compare if m in decl.keys and m not in decl.fields
                     and bucket(m, a.source) != bucket(m, b.source))


def blocking_problems(model: ModelDecl, capabilities: Mapping[str, Capabilities]) -> list[tuple[str, str, str]]:
    """Blocking keys no source can filter on, as (path, problem, valid choices)."""
    out = []
    for entity, decl in model.entities.items():
        if decl.identity is None:
            continue
        caps = [c.entities.get(entity) for c in capabilities.values()]
        filterable = sorted(_filterable(caps, decl))
        for name, rule in decl.identity.rules.items():
            for i, block in enumerate(rule.blocking):
                if not any(can_filter(c, block) for c in caps):
                    out.append((f"model.entities.{entity}.identity.rules.{name}.blocking[{i}]",
                                f"no source can filter {entity} on {' + '.join(block)}",
                                ", ".join(filterable) or "nothing: map a key or a pushable field"))
    return out


def _filterable(caps: Iterable[Any], decl: EntityDecl) -> set[str]:
    names = set(decl.fields) | set(decl.keys)
    return {n for c in caps if c is not None for n in names if can_filter(c, [n])}
