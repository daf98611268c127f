"""Clustering records of one entity by shared linking keys, with the reason for every link.

Evidence is applied strongest first, and never against a never-link:
1. must-link overrides (`joins`), 2. linking keys, 3. shared-risk keys (a household phone),
4. fuzzy auto-links (`scored`). A union that would put both records of a never-link pair in one
cluster is refused, so "never" beats any key. A shared key joins two clusters only when every
named record of one agrees with every named record of the other, so a record without a name
cannot bridge two family members; and a shared value held by people whose names disagree
links nobody without a name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from federation.identity.scoring import name_tokens, names_agree
from federation.records import Record

__all__ = ["Cluster", "Edge", "cluster_records", "linking_pairs"]

Pair = tuple[str, str]
# (key, scope bucket, value): equal values link only inside one bucket (federation/identity/scope.py).
Holder = tuple[str, str, str]
Bucket = Callable[[str, str], str]  # (key, source) -> bucket; "" links across every source


@dataclass(frozen=True, slots=True)
class Edge:
    """Evidence that two records are one thing, with its reason (`override by ann: …`)."""

    a: Record
    b: Record
    reason: str


def linking_pairs(record: Record, linking_keys: Sequence[str]) -> list[Pair]:
    """The (key, value) pairs of `record` that link it to other records."""
    return [(k, v) for k in linking_keys for v in record.keys.get(k, ())]


class Cluster:
    """One real-world thing: its records and, per record, which shared values linked it."""

    __slots__ = ("linked_by", "records")

    def __init__(self, records: list[Record], linked_by: dict[Record, tuple[str, ...]]) -> None:
        self.records = records
        self.linked_by = linked_by


class _Sets:
    """Union-find whose unions respect never-link pairs and, when asked, name agreement."""

    def __init__(self, records: Sequence[Record], name_field: str | None,
                 never: dict[int, set[int]]) -> None:
        self.parent = list(range(len(records)))
        self.members: dict[int, set[int]] = {i: {i} for i in range(len(records))}
        self.records, self.name_field, self.never = records, name_field, never
        self._named: set[int] | None = None

    @property
    def named(self) -> set[int]:
        """The records with a name; asked only by shared keys, so only they pay for the names."""
        if self._named is None:
            self._named = {i for i, r in enumerate(self.records) if name_tokens(r, self.name_field)}
        return self._named

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int, names: bool = False) -> bool:
        """Join the sets of `a` and `b`; False (nothing joined) when a rule forbids it."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        left, right = self.members[ra], self.members[rb]
        if any(self.never.get(i, set()) & right for i in left):
            return False
        if names and not self._names_fit(left, right):
            return False
        low, high = min(ra, rb), max(ra, rb)
        self.parent[high] = low
        self.members[low] = left | right
        del self.members[high]
        return True

    def _names_fit(self, left: set[int], right: set[int]) -> bool:
        return all(names_agree(self.records[x], self.records[y], self.name_field)
                   for x in left & self.named for y in right & self.named)


def cluster_records(records: Sequence[Record], linking_keys: Sequence[str], shared_keys: frozenset[str] = frozenset(),
                    name_field: str | None = None, *, joins: Sequence[Edge] = (), scored: Sequence[Edge] = (),
                    never: Iterable[tuple[Record, Record]] = (), scope: Bucket | None = None) -> list[Cluster]:
    """Union-find over overrides, shared linking values and scored links; clusters in order of first record.

    `scope` gives a key's bucket for a source: equal values in different buckets (two systems'
    order 382, each numbering its own) never link. None: every key links across every source.
    """
    if not joins and not scored and not any(r.keys.get(k) for r in records for k in linking_keys):
        # Nothing can link (no shared key values, no overrides, no scored pairs): one record per
        # cluster, with nothing to explain. The common case for child entities; skip union-find.
        return [Cluster([r], {r: ()}) for r in records]
    holders: dict[Holder, list[int]] = {}
    pairs_of: list[list[Holder]] = []
    for i, record in enumerate(records):
        pairs = [(k, scope(k, record.source) if scope else "", v) for k, v in linking_pairs(record, linking_keys)]
        pairs_of.append(pairs)
        for pair in pairs:
            holders.setdefault(pair, []).append(i)
    never = list(never)
    if joins or scored or never or any(key in shared_keys for key, _, _ in holders):
        roots, applied = _evidence_roots(records, holders, shared_keys, name_field, joins, scored, never)
    else:  # linking keys alone (the usual request): a plain union-find, nothing to refuse
        roots, applied = _key_roots(len(records), holders), []
    groups: dict[int, list[int]] = {}
    for i, root in enumerate(roots):
        groups.setdefault(root, []).append(i)
    clusters = []
    for members in groups.values():
        inside = set(members)
        linked = {records[i]: _reasons(i, pairs_of[i], holders, records, inside)
                  + _edge_reasons(records[i], applied) for i in members}
        clusters.append(Cluster([records[i] for i in members], linked))
    return clusters


def _key_roots(count: int, holders: dict[Holder, list[int]]) -> list[int]:
    """Each record's set, when only non-shared linking values join records: every holder of a
    value joins the value's first holder (no never-link, name or override to respect)."""
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in holders.values():
        first = find(members[0])
        for other in members[1:]:
            root = find(other)
            if root != first:
                low, high = min(root, first), max(root, first)
                parent[high], first = low, low
    return [find(i) for i in range(count)]


def _evidence_roots(records: Sequence[Record], holders: dict[Holder, list[int]], shared_keys: frozenset[str],
                    name_field: str | None, joins: Sequence[Edge], scored: Sequence[Edge],
                    never: list[tuple[Record, Record]]) -> tuple[list[int], list[Edge]]:
    """Each record's set, and the edges applied: overrides, then keys, shared keys, scored links,
    every union refused that would join a never-link pair (or, for shared keys, disagreeing names)."""
    index = {r: i for i, r in enumerate(records)}
    forbidden: dict[int, set[int]] = defaultdict(set)
    for a, b in never:
        if a in index and b in index:
            forbidden[index[a]].add(index[b])
            forbidden[index[b]].add(index[a])
    sets = _Sets(records, name_field, forbidden)
    applied = [e for e in joins if e.a in index and e.b in index and sets.union(index[e.a], index[e.b])]
    for (key, _, _), members in holders.items():
        if key not in shared_keys:
            for other in members[1:]:
                sets.union(members[0], other)
    for (key, _, _), members in holders.items():
        if key in shared_keys:
            _join_shared(sets, members)
    applied += [e for e in scored if e.a in index and e.b in index and sets.union(index[e.a], index[e.b])]
    return [sets.find(i) for i in range(len(records))], applied


def _join_shared(sets: _Sets, members: list[int]) -> None:
    """Name-agreeing holders join; nameless holders join only when the named ones all agree."""
    named = [i for i in members if i in sets.named]
    contested = any(not names_agree(sets.records[x], sets.records[y], sets.name_field)
                    for x, y in combinations(named, 2))
    for x, y in combinations(named, 2):
        if names_agree(sets.records[x], sets.records[y], sets.name_field):
            sets.union(x, y, names=True)
    if contested:
        return
    nameless = [i for i in members if i not in sets.named]
    anchor = named[0] if named else (nameless[0] if nameless else None)
    for i in nameless:
        if anchor is not None and i != anchor:
            sets.union(anchor, i, names=True)


def _reasons(i: int, pairs: Iterable[Holder], holders: dict[Holder, list[int]],
             records: Sequence[Record], inside: set[int]) -> tuple[str, ...]:
    """`email = ann@x.com ~ crm:C-9` for every value this record shares with another in its cluster;
    a key that is not global says where it links: `orderNumber = 382 ~ pos:7 (scope: group web-orders)`."""
    out = []
    for key, bucket, value in pairs:
        others = [str(records[j].ref) for j in holders[(key, bucket, value)] if j != i and j in inside]
        if others:
            where = f" (scope: {bucket})" if bucket else ""
            out.append(f"{key} = {value} ~ {', '.join(others)}{where}")
    return tuple(out)


def _edge_reasons(record: Record, applied: Sequence[Edge]) -> tuple[str, ...]:
    out = []
    for edge in applied:
        if edge.a == record:
            out.append(f"{edge.reason} ~ {edge.b.ref}")
        elif edge.b == record:
            out.append(f"{edge.reason} ~ {edge.a.ref}")
    return tuple(out)
