"""Pairwise scores for fuzzy rules: names (Jaro-Winkler), dates, addresses, text, exact values.

Each comparison gives a similarity in 0..1, or None when either record lacks the value; a rule's
score is the weighted mean, where a missing value counts as its comparison's `missing` score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from federation.keys import normalize_text
from federation.model.identity import RuleDecl
from federation.records import Record

__all__ = ["Comparison", "Score", "compare", "comparison_values", "first_names_agree", "name_tokens", "names_agree",
           "parse_date", "score_pair", "values_of"]

# Short forms of first names (both directions are checked).
_NICKNAMES = {
    "alex": "alexander", "andy": "andrew", "ben": "benjamin", "bill": "william", "billy": "william",
    "bob": "robert", "bobby": "robert", "cathy": "catherine", "charlie": "charles", "chris": "christopher",
    "dan": "daniel", "danny": "daniel", "dave": "david", "ed": "edward", "eddie": "edward", "fred": "frederick",
    "jim": "james", "jimmy": "james", "jamie": "james", "jen": "jennifer", "jenny": "jennifer",
    "joe": "joseph", "jon": "jonathan", "kate": "katherine", "katie": "katherine", "kathy": "katherine",
    "liz": "elizabeth", "beth": "elizabeth", "lizzie": "elizabeth", "matt": "matthew", "meg": "margaret",
    "maggie": "margaret", "peggy": "margaret", "mike": "michael", "mick": "michael", "nick": "nicholas",
    "pat": "patricia", "patty": "patricia", "pete": "peter", "rob": "robert", "sam": "samuel",
    "sandy": "sandra", "steve": "stephen", "sue": "susan", "susie": "susan", "tom": "thomas",
    "tommy": "thomas", "tony": "anthony", "will": "william", "vicky": "victoria", "becky": "rebecca",
    "harry": "henry", "jack": "john", "johnny": "john", "nicky": "nicola", "debbie": "deborah",
    "abby": "abigail", "greg": "gregory", "ken": "kenneth", "ron": "ronald", "tim": "timothy",
}
_PUNCT = re.compile(r"[^\w\s]")
_WORD = re.compile(r"[\W_]")
_ISO = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One comparison of a scored pair: similarity (weighted mean) or level and weight (trained model)."""

    member: str
    similarity: float | None
    left: str
    right: str
    level: str | None = None     # trained model: the level reached ("one digit"); None when missing
    weight: float = 0.0          # trained model: log2(m/u) of that level (+ term adjustment); 0 when missing
    term_adjustment: float = 0.0  # trained model: bits taken off an exact agreement on a common value


@dataclass(frozen=True, slots=True)
class Score:
    """A rule's verdict on one pair: the score and every comparison behind it.

    With a trained model `value` is the match probability and `weight` the match weight in bits:
    `prior` plus every comparison's `weight` (a waterfall, summing exactly).
    """

    rule: str
    value: float
    comparisons: tuple[Comparison, ...]
    weight: float | None = None
    prior: float = 0.0

    def explain(self) -> str:
        """`rule person 0.94: name 'Jon Smith' ~ 'John Smith' 0.97, dateOfBirth 1.00, postcode missing`.

        Trained: `rule person p=0.9991 weight 10.1 = prior -13.20 + name exact +9.50 + dob one digit +6.10 ...`.
        """
        if self.weight is not None:
            return self._explain_weights()
        parts = []
        for c in self.comparisons:
            if c.similarity is None:
                parts.append(f"{c.member} missing")
            elif c.left == c.right:
                parts.append(f"{c.member} '{c.left}' {c.similarity:.2f}")
            else:
                parts.append(f"{c.member} '{c.left}' ~ '{c.right}' {c.similarity:.2f}")
        return f"rule {self.rule} {self.value:.2f}: {', '.join(parts)}"

    def _explain_weights(self) -> str:
        parts = [f"prior {self.prior:+.2f}"]
        for c in self.comparisons:
            if c.level is None:
                parts.append(f"{c.member} missing +0.00")
            else:
                common = f" (common value {c.term_adjustment:+.2f})" if c.term_adjustment else ""
                shown = f"'{c.left}'" if c.left == c.right else f"'{c.left}' ~ '{c.right}'"
                parts.append(f"{c.member} {c.level} {shown} {c.weight:+.2f}{common}")
        return f"rule {self.rule} p={self.value:.4f} weight {self.weight:.2f} = {' + '.join(parts)}"


def values_of(record: Record, member: str) -> list[Any]:
    """A field's value(s), else a key's normalized values; empty when the record has none."""
    if member in record.fields:
        value = record.fields[member]
        items = value if isinstance(value, list | tuple) else [value]
        return [v for v in items if v not in (None, "")]
    return list(record.keys.get(member, ()))


def comparison_values(record: Record, rule: RuleDecl, member: str, whole: bool = False) -> list[Any]:
    """What comparison `member` reads of a record: its field(s) or key; a name read from two fields
    is one (given, family) pair, or (`whole`) the two joined into one string."""
    fields = rule.reads(member)
    if rule.compare[member].method == "name" and len(fields) == 2:
        given, family = (next(iter(values_of(record, f)), None) for f in fields)
        if given is None and family is None:
            return []
        return [" ".join(str(p) for p in (given, family) if p is not None)] if whole else [(given, family)]
    return [v for f in fields for v in values_of(record, f)]


def score_pair(name: str, rule: RuleDecl, a: Record, b: Record, apart: frozenset[str] = frozenset()) -> Score:
    """Weighted mean of the rule's comparisons; a missing value counts as its `missing` score.

    `apart`: keys whose scope does not link the two records' sources: their values are no
    evidence either way (two systems' member 382 say nothing), so they count as missing."""
    total = weight = 0.0
    found = []
    for member, spec in rule.compare.items():
        left, right = (([], []) if member in apart else
                       (comparison_values(a, rule, member, True), comparison_values(b, rule, member, True)))
        similarity, shown = compare(spec.method, left, right)
        found.append(Comparison(member, similarity, *shown))
        total += spec.weight * (spec.missing if similarity is None else similarity)
        weight += spec.weight
    return Score(name, round(total / weight, 4), tuple(found))


def compare(method: str, left: Sequence[Any], right: Sequence[Any]) -> tuple[float | None, tuple[str, str]]:
    """The best similarity over every pair of values, and the two values that gave it."""
    if not left or not right:
        return None, ("", "")
    best, shown = -1.0, ("", "")
    for x in left:
        for y in right:
            similarity = _METHODS[method](x, y)
            if similarity > best:
                best, shown = similarity, (_show(x), _show(y))
    return round(best, 4), shown


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _text(value: Any) -> str:
    return normalize_text(str(value)) or ""


def name_similarity(a: Any, b: Any) -> float:
    """Jaro-Winkler per part, first and last names apart; swapped order, nicknames and initials count."""
    x, y = _text(a).replace("-", " ").split(), _text(b).replace("-", " ").split()
    if not x or not y:
        return 0.0
    if len(x) == 1 or len(y) == 1:
        return float(JaroWinkler.similarity(" ".join(x), " ".join(y)))
    straight = _person(x[0], x[-1], y[0], y[-1])
    swapped = _person(x[-1], x[0], y[0], y[-1]) * 0.97
    return max(straight, swapped)


def _person(first_a: str, last_a: str, first_b: str, last_b: str) -> float:
    last = float(JaroWinkler.similarity(last_a, last_b))
    first = _first_name(first_a, first_b)
    if first >= 0.85:
        return last * (0.6 + 0.4 * first)
    return last * first


def _first_name(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if _NICKNAMES.get(a, a) == _NICKNAMES.get(b, b) or _NICKNAMES.get(a) == b or _NICKNAMES.get(b) == a:
        return 0.95
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return 0.85
    return float(JaroWinkler.similarity(a, b))


def first_names_agree(a: str, b: str) -> bool:
    """Normalized first names that may be one person's: prefix or initial, nickname, or a typo."""
    if a.startswith(b) or b.startswith(a):
        return True
    return _first_name(a, b) >= 0.9


def names_agree(a: Record, b: Record, name_field: str | None) -> bool:
    """False only when both records name someone and the names clearly differ.

    Same surname and compatible first names agree: one a prefix or initial of the other
    ("Sam Reid" ~ "SAMUEL REID"), a nickname ("Bill" ~ "William") or a typo (Jaro-Winkler >= 0.9),
    but not merely the same initial ("James Smith" and "Jennifer Smith" share a landline, not a
    life). Otherwise the accent- and case-free names must be near-identical (token-set ratio >= 90).
    """
    if name_field is None:
        return True
    left, right = name_tokens(a, name_field), name_tokens(b, name_field)
    if not left or not right:
        return True
    if left[-1] == right[-1] and first_names_agree(left[0], right[0]):
        return True
    return bool(fuzz.token_set_ratio(" ".join(left), " ".join(right)) >= 90)


def name_tokens(record: Record, field: str | None) -> list[str]:
    """The normalized words of a record's name field; empty when it names no one."""
    value = record.fields.get(field) if field else None
    text = normalize_text(value) if isinstance(value, str) else None
    return text.split() if text else []


def parse_date(value: Any) -> date | None:
    """A date from a date, a datetime, `YYYY-MM-DD` or `YYYYMMDD`; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _ISO.match(str(value).strip())
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def date_similarity(a: Any, b: Any) -> float:
    """1 equal; 0.85 day and month swapped; 0.7 one digit off (a typo); else 0."""
    x, y = parse_date(a), parse_date(b)
    if x is None or y is None:
        return 0.0
    if x == y:
        return 1.0
    if x.year == y.year and x.month == y.day and x.day == y.month:
        return 0.85
    left, right = x.strftime("%Y%m%d"), y.strftime("%Y%m%d")
    return 0.7 if sum(c != d for c, d in zip(left, right, strict=True)) == 1 else 0.0


def address_similarity(a: Any, b: Any) -> float:
    """Token-set overlap of the accent- and case-free addresses (order and extra words ignored)."""
    return float(fuzz.token_set_ratio(_PUNCT.sub(" ", _text(a)), _PUNCT.sub(" ", _text(b)))) / 100


def text_similarity(a: Any, b: Any) -> float:
    return float(JaroWinkler.similarity(_text(a), _text(b)))


def code_similarity(a: Any, b: Any) -> float:
    """1 equal (spaces and punctuation aside), 0.8 one keystroke apart, else 0."""
    x, y = _WORD.sub("", _text(a)), _WORD.sub("", _text(b))
    return 1.0 if x == y else 0.8 if Levenshtein.distance(x, y, score_cutoff=1) <= 1 else 0.0


def exact_similarity(a: Any, b: Any) -> float:
    if isinstance(a, str) and isinstance(b, str):  # case, accents, spaces and punctuation aside
        return 1.0 if _WORD.sub("", _text(a)) == _WORD.sub("", _text(b)) else 0.0
    return 1.0 if a == b else 0.0


_METHODS = {
    "name": name_similarity,
    "date": date_similarity,
    "code": code_similarity,
    "address": address_similarity,
    "text": text_similarity,
    "exact": exact_similarity,
}


def date_variants(values: Iterable[Any]) -> list[Any]:
    """Each date and, where it reads both ways, its day/month swap (a blocking value per variant)."""
    out: list[Any] = []
    for value in values:
        out.append(value)
        parsed = parse_date(value)
        if parsed is not None and parsed.day <= 12 and parsed.day != parsed.month:
            swapped = date(parsed.year, parsed.day, parsed.month)
            out.append(swapped if isinstance(value, date) else _like(value, swapped))
    return out


def _like(text: Any, value: date) -> str:
    return value.isoformat() if "-" in str(text) else value.strftime("%Y%m%d")
