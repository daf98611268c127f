"""Clustering records of one entity by shared linking keys, with the reason for every link."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations

from rapidfuzz import fuzz

from federation.keys import normalize_text
from federation.records import Record

__all__ = ["Cluster", "cluster_records", "linking_pairs", "names_agree"]

Pair = tuple[str, str]


def linking_pairs(record: Record, linking_keys: Sequence[str]) -> list[Pair]:
    """The (key, value) pairs of `record` that link it to other records."""
    return [(k, v) for k in linking_keys for v in record.keys.get(k, ())]


class Cluster:
    """One real-world thing: its records and, per record, which shared values linked it."""

    __slots__ = ("linked_by", "records")

    def __init__(self, records: list[Record], linked_by: dict[Record, tuple[str, ...]]) -> None:
        self.records = records
        self.linked_by = linked_by


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(i, i) != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def names_agree(a: Record, b: Record, name_field: str | None) -> bool:
    """False only when both records name someone and the names clearly differ.

    Same surname and same first initial agree ("Sam Reid" ~ "SAMUEL REID"); otherwise the
    accent- and case-free names must be near-identical (rapidfuzz token-set ratio >= 90).
    """
    if name_field is None:
        return True
    left, right = _name(a, name_field), _name(b, name_field)
    if not left or not right:
        return True
    if left[-1] == right[-1] and left[0][0] == right[0][0]:
        return True
    return bool(fuzz.token_set_ratio(" ".join(left), " ".join(right)) >= 90)


def _name(record: Record, field: str) -> list[str]:
    value = record.fields.get(field)
    text = normalize_text(value) if isinstance(value, str) else None
    return text.split() if text else []


def cluster_records(records: Sequence[Record], linking_keys: Sequence[str], shared_keys: frozenset[str] = frozenset(),
                    name_field: str | None = None) -> list[Cluster]:
    """Union-find over shared linking values; clusters in order of their first record.

    A `shared` key (a household phone) links two records only when their names agree, so
    family members who share a phone stay separate people.
    """
    holders: dict[Pair, list[int]] = defaultdict(list)
    pairs_of: list[list[Pair]] = []
    for i, record in enumerate(records):
        pairs = linking_pairs(record, linking_keys)
        pairs_of.append(pairs)
        for pair in pairs:
            holders[pair].append(i)
    sets = _UnionFind()
    for (key, _), members in holders.items():
        if key in shared_keys:
            for x, y in combinations(members, 2):
                if names_agree(records[x], records[y], name_field):
                    sets.union(x, y)
        else:
            for other in members[1:]:
                sets.union(members[0], other)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(records)):
        groups[sets.find(i)].append(i)
    clusters = []
    for members in groups.values():
        inside = set(members)
        linked = {records[i]: _reasons(i, pairs_of[i], holders, records, inside) for i in members}
        clusters.append(Cluster([records[i] for i in members], linked))
    return clusters


def _reasons(i: int, pairs: Iterable[Pair], holders: dict[Pair, list[int]],
             records: Sequence[Record], inside: set[int]) -> tuple[str, ...]:
    """`email = ann@x.com ~ crm:C-9` for every value this record shares with another in its cluster."""
    out = []
    for key, value in pairs:
        others = [str(records[j].ref) for j in holders[(key, value)] if j != i and j in inside]
        if others:
            out.append(f"{key} = {value} ~ {', '.join(others)}")
    return tuple(out)
