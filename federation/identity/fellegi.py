"""Fellegi-Sunter scoring with a trained model, and the model file that holds it.

Per comparison level, `m` is how often two records of one person land there and `u` how often two
records of different people do; the level's weight is log2(m/u) bits. A pair's match weight is
the prior's weight, log2(p/(1-p)) for p the probability that two random records are one person,
plus the weight of every comparison's level (a missing value adds 0); its match probability is
2^w / (1 + 2^w). `federation identity train` writes the file; the gateway reads it at start.

The file is JSON, one per entity, meant to be read by people:

```json
{"format": "onepane-identity-model", "version": 1, "entity": "Customer",
 "trainedAt": "2026-12-05T10:00:00+00:00", "sources": {"crm": 1000, "shop": 1000},
 "rules": {"person": {"prior": 0.0002, "priorWeight": -12.29, "comparisons": {
   "name": {"method": "name", "fields": ["givenName", "familyName"], "levels": [
     {"level": "exact", "m": 0.82, "u": 0.0004, "weight": 10.99}, ...],
     "termFrequencies": {"smith": 0.011, ...}}}}}}
```

Term frequencies: where two records agree exactly on a value that is common in the sample (more
than twice as frequent as an exact agreement between random records), the exact level weighs
log2(u / frequency) bits less, as Splink's term-frequency adjustment does; only such common
values (at most 100 per comparison) are written to the file, never a rare one. A value is counted
once per person holding it (records the model links count once: `training._common_terms`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from federation.identity.comparisons import LEVELS, compare_level
from federation.identity.scoring import Comparison, Score, comparison_values
from federation.model.identity import IdentityDecl, RuleDecl
from federation.records import Record

__all__ = ["FORMAT", "VERSION", "ComparisonModel", "IdentityModel", "ModelError", "RuleModel",
           "probability", "score_trained"]

FORMAT = "onepane-identity-model"
VERSION = 1


class ModelError(ValueError):
    """A model file that cannot serve this config: missing, unreadable, or trained for other rules."""


def probability(weight: float) -> float:
    """Match probability of a match weight in bits."""
    if weight > 60:
        return 1.0
    odds = math.pow(2.0, weight)
    return odds / (1 + odds)


def _bits(p: float) -> float:
    return math.log2(p / (1 - p))


@dataclass(frozen=True, slots=True)
class ComparisonModel:
    """One comparison's levels with their trained m and u."""

    method: str
    fields: tuple[str, ...]
    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]
    # Values common enough to weigh less when two records agree on them exactly (a frequent
    # surname or a city-centre postcode): value as read → share of the sampled values.
    terms: dict[str, float] = field(default_factory=dict)

    def weight(self, level: int) -> float:
        return math.log2(self.m[level] / self.u[level])

    def term_adjustment(self, term: str | None) -> float:
        """Bits to add at the exact level for agreeing on `term`: log2(u / its frequency), never positive."""
        share = self.terms.get(term) if term is not None else None
        return min(0.0, math.log2(self.u[0] / share)) if share else 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "fields": list(self.fields), "levels": [
            {"level": name, "m": round(m, 8), "u": round(u, 10), "weight": round(self.weight(i), 3)}
            for i, (name, m, u) in enumerate(zip(self.levels, self.m, self.u, strict=True))]}
        if self.terms:
            out["termFrequencies"] = {t: round(f, 6) for t, f in self.terms.items()}
        return out


@dataclass(frozen=True, slots=True)
class RuleModel:
    """One rule's prior and comparisons."""

    prior: float
    comparisons: dict[str, ComparisonModel]
    notes: tuple[str, ...] = ()

    @property
    def prior_weight(self) -> float:
        return _bits(self.prior)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"prior": self.prior, "priorWeight": round(self.prior_weight, 3),
                               "comparisons": {n: c.to_json() for n, c in self.comparisons.items()}}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, slots=True)
class IdentityModel:
    """A trained model of one entity: per rule, the prior and per comparison level m and u."""

    entity: str
    sources: dict[str, int]          # source → records sampled from it
    trained_at: str
    rules: dict[str, RuleModel]
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "entity": self.entity, "trainedAt": self.trained_at,
                "sources": dict(sorted(self.sources.items())), "training": self.training,
                "rules": {n: r.to_json() for n, r in self.rules.items()}}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: Any) -> IdentityModel:
        """Read a model file's content; ModelError naming the first thing that is not as written."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"not an identity model file (expected \"format\": \"{FORMAT}\")")
        if data.get("version") != VERSION:
            raise ModelError(f"model file version {data.get('version')!r}; this gateway reads version {VERSION}: "
                             "train again with `federation identity train`")
        try:
            rules = {name: RuleModel(float(r["prior"]), {
                c: ComparisonModel(str(spec["method"]), tuple(spec.get("fields", ())),
                                   tuple(str(lv["level"]) for lv in spec["levels"]),
                                   tuple(float(lv["m"]) for lv in spec["levels"]),
                                   tuple(float(lv["u"]) for lv in spec["levels"]),
                                   {str(t): float(f) for t, f in spec.get("termFrequencies", {}).items()})
                for c, spec in r["comparisons"].items()}, tuple(r.get("notes", ())))
                for name, r in data["rules"].items()}
            sources = {str(k): int(v) for k, v in data["sources"].items()}
            model = cls(str(data["entity"]), sources, str(data["trainedAt"]), rules, dict(data.get("training", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"model file is malformed ({type(exc).__name__}: {exc})") from None
        for name, rule in rules.items():
            if not 0 < rule.prior < 1:
                raise ModelError(f"rules.{name}.prior must be between 0 and 1 (exclusive)")
            for c, spec in rule.comparisons.items():
                if any(not 0 < p <= 1 for p in (*spec.m, *spec.u, *spec.terms.values())):
                    raise ModelError(f"rules.{name}.comparisons.{c}: every m, u and term frequency must be in (0, 1]")
        return model

    def problems(self, entity: str, identity: IdentityDecl, sources: Iterable[str]) -> list[str]:
        """Why this model cannot score `identity` over `sources`; empty when it can."""
        out = []
        if self.entity != entity:
            out.append(f"trained for entity {self.entity}, not {entity}")
        wanted, trained = sorted(set(sources)), sorted(self.sources)
        if wanted != trained:
            out.append(f"trained on sources {', '.join(trained) or 'none'}; this config's {entity} sources are "
                       f"{', '.join(wanted) or 'none'}: train again")
        for name, rule in identity.rules.items():
            found = self.rules.get(name)
            if found is None:
                out.append(f"has no rule '{name}' (it has: {', '.join(self.rules) or 'none'}): train again")
                continue
            out += [f"rules.{name}: {p}" for p in _rule_problems(rule, found)]
        return out


def _rule_problems(rule: RuleDecl, model: RuleModel) -> list[str]:
    out = []
    if set(rule.compare) != set(model.comparisons):
        out.append(f"compares {', '.join(sorted(model.comparisons))}; the config compares "
                   f"{', '.join(sorted(rule.compare))}: train again")
        return out
    for name, spec in rule.compare.items():
        trained = model.comparisons[name]
        if trained.method != spec.method or trained.fields != rule.reads(name):
            out.append(f"{name} was trained as {trained.method} of {', '.join(trained.fields)}; the config says "
                       f"{spec.method} of {', '.join(rule.reads(name))}: train again")
        elif trained.levels != LEVELS[spec.method]:
            out.append(f"{name} has levels {', '.join(trained.levels)}; this gateway's {spec.method} levels are "
                       f"{', '.join(LEVELS[spec.method])}: train again")
    return out


def score_trained(name: str, rule: RuleDecl, model: RuleModel, a: Record, b: Record,
                  apart: frozenset[str] = frozenset()) -> Score | None:
    """The pair's match probability and per-comparison weights; None when every value is missing.

    `apart`: keys whose scope does not link the two records' sources weigh nothing (missing)."""
    total = model.prior_weight
    found = []
    for member, spec in rule.compare.items():
        if member in apart:
            found.append(Comparison(member, None, "", ""))
            continue
        outcome = compare_level(spec.method, comparison_values(a, rule, member), comparison_values(b, rule, member))
        trained = model.comparisons[member]
        if outcome.level is None:
            found.append(Comparison(member, None, "", ""))
            continue
        adjustment = trained.term_adjustment(outcome.term) if outcome.level == 0 else 0.0
        weight = trained.weight(outcome.level) + adjustment
        total += weight
        found.append(Comparison(member, None, outcome.left, outcome.right, trained.levels[outcome.level],
                                round(weight, 3), round(adjustment, 3)))
    if all(c.level is None for c in found):
        return None  # nothing to compare: such records are never linked by the rule
    # The rounded parts are what the API shows, so the shown total is their exact sum.
    prior = round(model.prior_weight, 3)
    shown = round(prior + sum(c.weight for c in found), 3)
    return Score(name, round(probability(total), 6), tuple(found), shown, prior)

