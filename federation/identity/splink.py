"""Splink's model JSON (`linker.misc.save_model_to_json`), read into and written from Onepane's model.

A data team with a trained Splink model points `identity.model` at its JSON as it is. Splink's
comparisons map onto a rule's comparisons by output column name (`given_name` → the field
`givenName`; `identity.splinkColumns: {surname: familyName}` names the rest). Scoring needs, for
each Onepane level, the Splink level such a pair would land in; its m and u are that level's:

- `exact`: Splink's exact level (`"c_l" = "c_r"`);
- edits and one digit: the tightest `levenshtein`/`damerau_levenshtein <= k` level that holds;
- Jaro-Winkler levels: the tightest `jaro_winkler_similarity >= t` level with t at most Onepane's;
- a date's day-month swap and same year: the tightest `<= 1 year`-or-wider date difference level;
- a date's day and month (the years apart, not by one digit): the tightest `<= 2` edits level (two
  year digits, as 1962 ~ 1930 or 1962 ~ 2062, are two edits), else Splink's `ELSE`: no date
  difference level holds a wrong year whatever its distance;
- anything else: Splink's `ELSE`.

Onepane's `name` comparison over `[given, family]` takes Splink's two name comparisons: a level's
m (and u) is the product of the given part's and the family part's (Fellegi-Sunter assumes them
independent), so its weight is the sum of the two weights. Term-frequency tables are not in
Splink's JSON: an exact agreement weighs its average. What cannot be mapped (a comparison no
column names, a level kind with no counterpart) is a ModelError naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from federation.identity.comparisons import LEVELS
from federation.identity.fellegi import ComparisonModel, IdentityModel, ModelError, RuleModel
from federation.model.identity import IdentityDecl, RuleDecl

__all__ = ["from_splink", "is_splink", "to_splink"]

_EDITS = re.compile(r"(damerau_)?levenshtein\(.*\)\s*<=\s*(\d+)", re.I)
_JARO = re.compile(r"jaro(_winkler)?_similarity\(.*\)\s*>=\s*([\d.]+)", re.I)
_DAYS = re.compile(r"<=\s*([\d.]+)\s*$")
_YEAR_SECONDS = 31_557_600.0


def is_splink(data: Any) -> bool:
    """A Splink settings JSON: comparisons with levels and the prior."""
    return isinstance(data, dict) and "probability_two_random_records_match" in data and "comparisons" in data


@dataclass(frozen=True, slots=True)
class _Level:
    kind: str            # exact, edits, jaro, within, else, other
    bound: float         # edits: k; jaro: threshold; within: seconds
    m: float
    u: float
    label: str


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _levels(comparison: Mapping[str, Any], where: str) -> list[_Level]:
    out = []
    for i, level in enumerate(comparison.get("comparison_levels", [])):
        if level.get("is_null_level"):
            continue
        condition, label = str(level.get("sql_condition", "")), str(level.get("label_for_charts", ""))
        m, u = float(level.get("m_probability") or 0.0), float(level.get("u_probability") or 0.0)
        kind, bound = "other", 0.0
        if m <= 0 or u <= 0:   # Splink could not train it (never observed): no pair is scored by it
            kind = "untrained"
            if condition.strip().upper() == "ELSE":
                raise ModelError(f"{where}.comparison_levels[{i}] ({label}): no trained m_probability/u_probability")
        elif condition.strip().upper() == "ELSE":
            kind = "else"
        elif (found := _EDITS.search(condition)) is not None:
            kind, bound = "edits", float(found.group(2))
        elif (found := _JARO.search(condition)) is not None:
            kind, bound = "jaro", float(found.group(2))
        elif "EPOCH" in condition.upper() and (found := _DAYS.search(condition)) is not None:
            kind, bound = "within", float(found.group(1))
        elif re.fullmatch(r'\s*"?[\w ]+_l"?\s*=\s*"?[\w ]+_r"?\s*', condition) or label.lower().startswith("exact"):
            kind = "exact"
        # The model file keeps m to 8 and u to 10 decimals: a level Splink put at 1e-17 keeps a
        # weight the file can write (about -20 bits instead of -50: still decisive).
        out.append(_Level(kind, bound, max(m, 1e-8) if m > 0 else m, max(u, 1e-10) if u > 0 else u, label))
    if not any(lv.kind == "else" for lv in out):
        raise ModelError(f"{where}: no ELSE level")
    return out


def _pick(levels: Sequence[_Level], kind: str, accept: Any) -> _Level | None:
    """The first (strongest) level of `kind` whose bound `accept` takes."""
    return next((lv for lv in levels if lv.kind == kind and accept(lv.bound)), None)


def _onepane_level(method: str, name: str, levels: Sequence[_Level]) -> _Level:
    """The Splink level a pair at Onepane level `name` lands in."""
    fallback = next(lv for lv in levels if lv.kind == "else")
    exact = _pick(levels, "exact", lambda b: True)
    edits = {k: _pick(levels, "edits", lambda b, k=k: b >= k) for k in (1, 2)}
    jaro = {t: _pick(levels, "jaro", lambda b, t=t: b <= t) for t in (0.92, 0.8, 0.7)}
    year = _pick(levels, "within", lambda b: b >= _YEAR_SECONDS)
    wanted: dict[str, _Level | None] = {
        "exact": exact, "1 edit": edits[1], "2 edits": edits[2], "one digit": edits[1] or year,
        "transposed": edits[2] or year, "day-month swap": edits[2] or year, "day and month": edits[2],
        "same year": year,
        "jaro-winkler 0.92": jaro[0.92], "jaro-winkler 0.8": jaro[0.8], "close": jaro[0.92],
        "similar": jaro[0.8], "token 0.9": jaro[0.92], "token 0.75": jaro[0.8],
        "token 0.6": jaro[0.7]}
    return wanted.get(name) or fallback


# Onepane name levels as (given part, family part) Onepane-level pairs, each part read as a `text` level;
# None: the part weighs nothing (a lone name has no given part).
_NAME_PARTS: dict[str, tuple[str | None, str | None]] = {
    "exact": ("exact", "exact"), "swapped": ("else", "else"), "close": ("jaro-winkler 0.92", "jaro-winkler 0.92"),
    "similar": ("jaro-winkler 0.8", "jaro-winkler 0.8"), "one part": (None, "exact"),
    "family only": ("else", "exact"), "given only": ("exact", "else"), "else": ("else", "else")}


def _columns(rule: RuleDecl, extra: Mapping[str, str]) -> dict[str, tuple[str, int | None]]:
    """Splink column key → (comparison, part of a two-field name or None)."""
    out: dict[str, tuple[str, int | None]] = {}
    for member, spec in rule.compare.items():
        reads = rule.reads(member)
        out[_key(member)] = (member, None)
        for i, part in enumerate(reads):
            two = spec.method == "name" and len(reads) == 2
            out[_key(part)] = (member, i if two else None)
    for splink_column, target in extra.items():
        if _key(target) in out:
            out[_key(splink_column)] = out[_key(target)]
    return out


def from_splink(data: Mapping[str, Any], entity: str, identity: IdentityDecl, sources: Iterable[str],
                source_file: str) -> IdentityModel:
    """Onepane's model of `identity`'s rules from a Splink settings JSON; ModelError naming what cannot map."""
    try:
        prior = float(data["probability_two_random_records_match"])
        comparisons = list(data["comparisons"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"Splink model is malformed ({type(exc).__name__}: {exc})") from None
    rules = {}
    for rule_name, rule in identity.rules.items():
        columns = _columns(rule, identity.splink_columns)
        parts: dict[str, dict[int | None, list[_Level]]] = {}
        unmapped = []
        for i, comparison in enumerate(comparisons):
            column = str(comparison.get("output_column_name", ""))
            where = f"comparisons[{i}] ({column})"
            target = columns.get(_key(column))
            if target is None:
                unmapped.append(column)
                continue
            parts.setdefault(target[0], {})[target[1]] = _levels(comparison, where)
        if unmapped:
            compared = ", ".join(f"{m} ({' '.join(rule.reads(m))})" for m in rule.compare)
            raise ModelError(f"Splink comparison(s) {', '.join(unmapped)} name no comparison of rule '{rule_name}' "
                             f"(it compares {compared}); name them in identity.splinkColumns: {{splinkColumn: field}}")
        out = {}
        for member, spec in rule.compare.items():
            found = parts.get(member)
            if not found:
                raise ModelError(f"rule '{rule_name}' compares {member}; the Splink model has no comparison of "
                                 f"{', '.join(rule.reads(member))}")
            names = LEVELS[spec.method]
            if spec.method == "name" and len(rule.reads(member)) == 2:
                if set(found) != {0, 1}:
                    raise ModelError(f"rule '{rule_name}' compares {member} as two fields "
                                     f"({', '.join(rule.reads(member))}); the Splink model has a comparison of "
                                     f"{'only one' if len(found) == 1 else 'the whole name'}")
                m, u = [], []
                for level in names:
                    pm, pu = 1.0, 1.0
                    for i, part in enumerate(_NAME_PARTS[level]):
                        if part is not None:
                            chosen = _onepane_level("text", part, found[i])
                            pm, pu = pm * chosen.m, pu * chosen.u
                    m.append(pm)
                    u.append(pu)
            else:
                levels = next(iter(found.values()))
                chosen_levels = [_onepane_level(spec.method, level, levels) for level in names]
                m, u = [lv.m for lv in chosen_levels], [lv.u for lv in chosen_levels]
            out[member] = ComparisonModel(spec.method, rule.reads(member), names, tuple(m), tuple(u))
        rules[rule_name] = RuleModel(prior, out, (f"read from the Splink model {source_file}",))
    return IdentityModel(entity, dict.fromkeys(sources, 0), str(data.get("trained_at", "")) or "splink", rules,
                         {"from": "splink", "file": source_file})


# -- writing ------------------------------------------------------------------------------------


def _col(name: str, side: str) -> str:
    return f'"{name}_{side}"'


def _sql(method: str, level: str, fields: Sequence[str]) -> str:
    """Splink SQL for a pair reaching Onepane's `level` (as near as SQL gets; the weights are exact)."""
    if method == "name" and len(fields) == 2:
        g, f = fields
        both = {"exact": f"{_col(g, 'l')} = {_col(g, 'r')} AND {_col(f, 'l')} = {_col(f, 'r')}",
                "swapped": f"{_col(g, 'l')} = {_col(f, 'r')} AND {_col(f, 'l')} = {_col(g, 'r')}",
                "close": f"jaro_winkler_similarity({_col(g, 'l')}, {_col(g, 'r')}) >= 0.92 AND "
                         f"jaro_winkler_similarity({_col(f, 'l')}, {_col(f, 'r')}) >= 0.92",
                "similar": f"jaro_winkler_similarity({_col(g, 'l')}, {_col(g, 'r')}) >= 0.8 AND "
                           f"jaro_winkler_similarity({_col(f, 'l')}, {_col(f, 'r')}) >= 0.8",
                "one part": f"({_col(g, 'l')} IS NULL OR {_col(g, 'r')} IS NULL) AND {_col(f, 'l')} = {_col(f, 'r')}",
                "family only": f"{_col(f, 'l')} = {_col(f, 'r')}", "given only": f"{_col(g, 'l')} = {_col(g, 'r')}"}
        return both.get(level, "ELSE")
    c = fields[0]
    left, right = _col(c, "l"), _col(c, "r")
    simple = {"exact": f"{left} = {right}", "1 edit": f"damerau_levenshtein({left}, {right}) <= 1",
              "2 edits": f"damerau_levenshtein({left}, {right}) <= 2",
              "one digit": f"levenshtein({left}, {right}) <= 1",
              "transposed": f"damerau_levenshtein({left}, {right}) <= 1",
              "day-month swap": f"substr({left}, 1, 4) = substr({right}, 1, 4) AND substr({left}, 5, 2) = "
                                f"substr({right}, 7, 2) AND substr({left}, 7, 2) = substr({right}, 5, 2)",
              "day and month": f"substr({left}, 5, 4) = substr({right}, 5, 4)",
              "same year": f"substr({left}, 1, 4) = substr({right}, 1, 4)",
              "jaro-winkler 0.92": f"jaro_winkler_similarity({left}, {right}) >= 0.92",
              "jaro-winkler 0.8": f"jaro_winkler_similarity({left}, {right}) >= 0.8",
              "close": f"jaro_winkler_similarity({left}, {right}) >= 0.92",
              "similar": f"jaro_winkler_similarity({left}, {right}) >= 0.8",
              "token 0.9": f"jaro_winkler_similarity({left}, {right}) >= 0.92",
              "token 0.75": f"jaro_winkler_similarity({left}, {right}) >= 0.8",
              "token 0.6": f"jaro_winkler_similarity({left}, {right}) >= 0.7"}
    return simple.get(level, "ELSE")


def to_splink(model: IdentityModel, rule: str, unique_id: str = "unique_id") -> dict[str, Any]:
    """Splink settings JSON of one rule of a trained Onepane model: one comparison per Onepane
    comparison (output column = the comparison's name), its levels with Onepane's m and u."""
    if rule not in model.rules:
        raise ModelError(f"the model has no rule '{rule}' (it has: {', '.join(model.rules) or 'none'})")
    trained = model.rules[rule]
    comparisons = []
    for member, spec in trained.comparisons.items():
        fields = spec.fields or (member,)
        null = " OR ".join(f"{_col(f, 'l')} IS NULL OR {_col(f, 'r')} IS NULL" for f in fields)
        if spec.method == "name" and len(fields) == 2:
            null = " AND ".join(f"({_col(f, 'l')} IS NULL OR {_col(f, 'r')} IS NULL)" for f in fields)
        levels: list[dict[str, Any]] = [{"sql_condition": null, "label_for_charts": f"{member} is NULL",
                                         "is_null_level": True}]
        for level, m, u in zip(spec.levels, spec.m, spec.u, strict=True):
            levels.append({"sql_condition": _sql(spec.method, level, fields),
                           "label_for_charts": f"{member} {level}" if level != "else" else "All other comparisons",
                           "m_probability": m, "u_probability": u})
        comparisons.append({"output_column_name": member, "comparison_description": f"onepane {spec.method}",
                            "comparison_levels": levels})
    return {"link_type": "dedupe_only", "unique_id_column_name": unique_id,
            "probability_two_random_records_match": trained.prior, "comparisons": comparisons,
            "blocking_rules_to_generate_predictions": [], "sql_dialect": "duckdb",
            "retain_matching_columns": True, "retain_intermediate_calculation_columns": False,
            "additional_columns_to_retain": []}
