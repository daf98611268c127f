"""Training a Fellegi-Sunter model without labels, from a sample of the deployment's own records.

- `u` (how often two different people land on a level) from random pairs of the sample: nearly
  every random pair is two different people.
- `m` (how often one person's two records land on a level) by expectation maximisation over the
  pairs each blocking key brings together, one run per blocking key with `u` held fixed. A run
  leaves out the comparisons its own blocking key reads (they agree by construction; also those
  that all but never reach `else` among its pairs: read through another name), so every
  comparison's `m` comes from the runs of the other keys, averaged by the true pairs each saw.
- the prior (the probability that two random records are one person): each run's matches among
  its pairs, divided by the chance a true pair agrees on that blocking key (from the other runs'
  `m`), over all pairs of the sample; the largest estimate wins (blocking keys miss matches, they
  do not invent them).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from federation.identity.comparisons import LEVELS, TERM_METHODS, compare_level, read_terms
from federation.identity.fellegi import ComparisonModel, IdentityModel, RuleModel, score_trained
from federation.identity.matching import Match, block_signatures
from federation.identity.scoring import comparison_values
from federation.model.declaration import EntityDecl
from federation.model.identity import IdentityDecl, RuleDecl
from federation.records import Record

__all__ = ["Levels", "em", "train", "u_from_levels"]

Levels = tuple[int | None, ...]
_FLOOR = 1e-6
# Pseudo-pairs per level when estimating m: a level no true pair reached in the sample (a swapped
# name, say) stays possible for one, so it weighs a few bits against, not twenty.
_M_PSEUDO = 0.5
Progress = Callable[[str], None]


def _levels(rule: RuleDecl, a: Record, b: Record) -> Levels:
    return tuple(compare_level(spec.method, comparison_values(a, rule, name), comparison_values(b, rule, name)).level
                 for name, spec in rule.compare.items())


def _normalized(counts: Sequence[float]) -> tuple[float, ...]:
    floored = [max(c, 0.0) + _FLOOR for c in counts]
    total = sum(floored)
    return tuple(c / total for c in floored)


def u_from_levels(patterns: Sequence[Levels], sizes: Sequence[int]) -> list[tuple[float, ...]]:
    """Per comparison, the share of random pairs on each level (one pseudo-pair per level: no zero)."""
    out = []
    for i, size in enumerate(sizes):
        counts = Counter(p[i] for p in patterns if p[i] is not None)
        out.append(_normalized([counts[level] + 1 for level in range(size)]))
    return out


def _initial_m(size: int) -> tuple[float, ...]:
    # Records of one person mostly agree: a guess EM corrects, strongest level most likely.
    return _normalized([4.0 ** -level for level in range(size)])


@dataclass(frozen=True, slots=True)
class EmResult:
    m: dict[int, tuple[float, ...]]   # comparison index → m per level (only the comparisons estimated)
    share: float                       # estimated share of the pairs that are one person
    iterations: int


def em(patterns: Counter[Levels], sizes: Sequence[int], u: Sequence[Sequence[float]], used: Sequence[int],
       max_iterations: int = 100, tolerance: float = 1e-6, free_u: bool = False) -> EmResult:
    """Expectation maximisation of `m` and the match share over level patterns.

    `used` are the indices of the comparisons estimated (the others are ignored in this run).
    `u` starts from the random pairs' and stays fixed, unless `free_u`: then it is estimated too,
    as the non-matches among these pairs have it.
    """
    m = {i: _initial_m(sizes[i]) for i in used}
    u = [tuple(x) for x in u]
    share = 0.3
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported
        totals = {i: [0.0] * sizes[i] for i in used}
        others = {i: [0.0] * sizes[i] for i in used}
        seen = dict.fromkeys(used, 0.0)
        matched = count = 0.0
        for pattern, n in patterns.items():
            p_match, p_other = share, 1 - share
            for i in used:
                level = pattern[i]
                if level is not None:
                    p_match *= m[i][level]
                    p_other *= u[i][level]
            w = p_match / (p_match + p_other) if p_match + p_other > 0 else 0.0
            matched += w * n
            count += n
            for i in used:
                level = pattern[i]
                if level is not None:
                    totals[i][level] += w * n
                    others[i][level] += (1 - w) * n
                    seen[i] += w * n
        new_m = {i: _normalized([t + _M_PSEUDO for t in totals[i]]) if seen[i] > 0 else m[i] for i in used}
        new_share = min(max(matched / count, _FLOOR), 1 - _FLOOR) if count else share
        change = max([abs(new_share - share), *(abs(x - y) for i in used for x, y in zip(new_m[i], m[i],
                                                                                          strict=True))])
        m, share = new_m, new_share
        if free_u:
            u = [_normalized([t + _M_PSEUDO for t in others[i]]) if i in others else u[i] for i in range(len(u))]
        if change < tolerance:
            break
    return EmResult(m, share, iterations)


def _tied(patterns: Counter[Levels], i: int, size: int) -> bool:
    """A comparison the blocking key decides (a key `family` read from the column a compared field
    `familyName` also reads): among the key's pairs it all but never disagrees. EM would read that
    agreement as evidence of a match, so the run leaves the comparison out."""
    present = sum(n for p, n in patterns.items() if p[i] is not None)
    disagree = sum(n for p, n in patterns.items() if p[i] == size - 1)
    return present >= 20 and disagree <= 0.01 * present


def _same_term_pairs(records: Sequence[Record], rule: RuleDecl, member: str) -> set[tuple[int, int]]:
    """Pairs of records whose comparison `member` reads one same value (too-common values skipped)."""
    method = rule.compare[member].method
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for term in set(read_terms(method, comparison_values(record, rule, member))):
            buckets[term].append(i)
    out: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) <= rule.max_block:
            out.update(combinations(sorted(members), 2))
    return out


def _blocked_pairs(records: Sequence[Record], name: str, rule: RuleDecl, decl: EntityDecl
                   ) -> dict[int, set[tuple[int, int]]]:
    """Per blocking key, the pairs of record indices that share a value (too-common values skipped)."""
    buckets: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for signature in block_signatures(record, name, rule, decl):
            buckets[signature].append(i)
    out: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for signature, members in buckets.items():
        if len(members) <= rule.max_block:
            out[int(signature[1])].update(combinations(sorted(set(members)), 2))
    return out


def train(entity: str, identity: IdentityDecl, decl: EntityDecl, samples: dict[str, list[Record]],
          random_pairs: int = 100_000, seed: int = 1, progress: Progress = lambda _: None) -> IdentityModel:
    """A model for every rule of `identity`, from the records sampled per source."""
    records = [r for batch in samples.values() for r in batch]
    rng = random.Random(seed)
    n = len(records)
    rules: dict[str, RuleModel] = {}
    training: dict[str, Any] = {"records": n, "randomPairs": 0, "seed": seed, "blocking": {}}
    if n < 2:
        raise ValueError(f"{entity}: {n} record(s) sampled; training needs at least two")
    for name, rule in identity.rules.items():
        members = list(rule.compare)
        sizes = [len(LEVELS[rule.compare[c].method]) for c in members]
        pairs = min(random_pairs, n * (n - 1) // 2)
        progress(f"{entity}.{name}: u from {pairs:,} random pairs of {n:,} records")
        sampled = []
        for _ in range(pairs):
            i, j = rng.sample(range(n), 2)
            sampled.append(_levels(rule, records[i], records[j]))
        u = u_from_levels(sampled, sizes)
        training["randomPairs"] = pairs
        estimates: dict[int, list[tuple[float, tuple[float, ...]]]] = defaultdict(list)  # (matches, m)
        runs: list[tuple[int, float, int]] = []   # (blocking key, estimated matching pairs, pairs)
        notes = []
        for index, pair_set in sorted(_blocked_pairs(records, name, rule, decl).items()):
            block = rule.blocking[index]
            progress(f"{entity}.{name}: EM over {len(pair_set):,} pairs sharing {' + '.join(block)}")
            patterns = Counter(_levels(rule, records[i], records[j]) for i, j in pair_set)
            used = [i for i, c in enumerate(members)
                    if not set(rule.reads(c)) & set(block) and not _tied(patterns, i, sizes[i])]
            if not used or not pair_set:
                continue
            result = em(patterns, sizes, u, used)
            for i, m in result.m.items():
                estimates[i].append((result.share * len(pair_set), m))
            runs.append((index, result.share * len(pair_set), len(pair_set)))
            training["blocking"][" + ".join(block)] = {"pairs": len(pair_set), "matchShare": round(result.share, 6),
                                                       "iterations": result.iterations}
        # One more run per name comparison, for training only: pairs with the same whole name are
        # mostly one person, and unlike pairs sharing a postcode they are seldom two relatives, so
        # the date of birth and the address learn what a true pair looks like from them.
        for k, c in enumerate(members):
            if rule.compare[c].method != "name":
                continue
            pair_set = _same_term_pairs(records, rule, c)
            patterns = Counter(_levels(rule, records[i], records[j]) for i, j in pair_set)
            used = [i for i in range(len(members)) if i != k and not _tied(patterns, i, sizes[i])]
            progress(f"{entity}.{name}: EM over {len(pair_set):,} pairs with the same {c} (training only)")
            if not used or not pair_set:
                continue
            result = em(patterns, sizes, u, used)
            for i, m in result.m.items():
                estimates[i].append((result.share * len(pair_set), m))
            training["blocking"][f"same {c} (training only)"] = {
                "pairs": len(pair_set), "matchShare": round(result.share, 6), "iterations": result.iterations}
        m_final: list[tuple[float, ...]] = []
        for i, c in enumerate(members):
            if estimates[i]:  # each run's m, weighted by how many true pairs it saw
                m_final.append(_normalized([sum(w * m[level] for w, m in estimates[i]) for level in range(sizes[i])]))
            else:
                notes.append(f"{c}: every blocking key reads it, so its m was not estimated (a prior guess is used)")
                m_final.append(_initial_m(sizes[i]))
        prior = _prior(rule, members, runs, m_final, n)
        plain = RuleModel(prior, {c: ComparisonModel(rule.compare[c].method, rule.reads(c),
                                                     LEVELS[rule.compare[c].method], m_final[i], u[i])
                                  for i, c in enumerate(members)})
        comparisons = {c: ComparisonModel(rule.compare[c].method, rule.reads(c), LEVELS[rule.compare[c].method],
                                          m_final[i], u[i], _common_terms(records, name, rule, c, u[i][0], plain))
                       for i, c in enumerate(members)}
        rules[name] = RuleModel(prior, comparisons, tuple(notes))
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    return IdentityModel(entity, {s: len(b) for s, b in samples.items()}, trained_at, rules, training)


_MAX_TERMS = 100
# A value held by more sampled records than this is common whoever holds it: counted per record.
_MAX_HOLDERS = 100


def _common_terms(records: Sequence[Record], name: str, rule: RuleDecl, member: str, u_exact: float,
                  plain: RuleModel) -> dict[str, float]:
    """Values of a comparison common enough to weigh less on an exact agreement: more than twice as
    frequent as two random records agreeing exactly; the 100 most common at most, never a rare one.

    A value counts once per person holding it, not per record: records of one person (in three
    systems, or a system's own duplicates) that the model without term frequencies (`plain`) links
    are one. Counted per record, a rare name or an identity number held by one person in three
    systems looks common, and its exact agreement, the best evidence there is, would weigh less."""
    method = rule.compare[member].method
    if method not in TERM_METHODS:
        return {}
    holders: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for term in set(read_terms(method, comparison_values(record, rule, member))):
            holders[term].append(i)
    counts = Counter({t: _people(records, ids, name, rule, plain) if 3 <= len(ids) <= _MAX_HOLDERS else len(ids)
                      for t, ids in holders.items()})
    total = sum(counts.values())
    if not total:
        return {}
    return {t: n / total for t, n in counts.most_common(_MAX_TERMS) if n >= 3 and n / total > 2 * u_exact}


def _people(records: Sequence[Record], ids: Sequence[int], name: str, rule: RuleDecl, plain: RuleModel) -> int:
    """How many people hold one value: its records grouped by what the plain model links."""
    parent = {i: i for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in combinations(ids, 2):
        if root(i) == root(j):
            continue
        score = score_trained(name, rule, plain, records[i], records[j])
        if score is not None and Match(records[i], records[j], score, rule).decisive >= rule.link:
            parent[root(i)] = root(j)
    return len({root(i) for i in ids})


def _prior(rule: RuleDecl, members: Sequence[str], runs: Sequence[tuple[int, float, int]],
           m: Sequence[Sequence[float]], n: int) -> float:
    """Probability two random records are one person: the best blocking key's matches, corrected for the
    true pairs it misses (those that do not agree exactly on what it reads), over all pairs."""
    all_pairs = n * (n - 1) / 2
    best = 1.0
    for index, matches, _ in runs:
        block = set(rule.blocking[index])
        agree = 1.0
        for i, c in enumerate(members):
            if set(rule.reads(c)) & block:
                agree *= m[i][0]
        best = max(best, matches / max(agree, 0.05))
    return min(max(best / all_pairs, 1e-9), 0.5)
