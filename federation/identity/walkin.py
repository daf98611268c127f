"""A walk-in customer: what a clerk types, as a record the identity rules can block and score.

`customers(match: {name, dateOfBirth, postcode, email, phone})` has no id to start from. The
clerk's values become one synthetic record (source `match`), normalized the way source values
are: a key through its normalizer, a date read like a stored date, a whole name split into the
rule's given and family fields. Its blocking values are derived like any record's (a phonetic
key from the family name and the year of birth); candidates are scored against it with the same
rule, model and thresholds as every possible match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from nameparser import HumanName

from federation.identity.comparisons import read_date
from federation.identity.fellegi import IdentityModel, score_trained
from federation.identity.matching import Match
from federation.identity.scoring import score_pair
from federation.keys import normalize
from federation.model.declaration import EntityDecl
from federation.model.identity import IdentityDecl
from federation.records import Record

__all__ = ["PROBE_SOURCE", "MatchInputError", "input_members", "probe_record", "score_candidates"]

PROBE_SOURCE = "match"   # the synthetic record's source: never a configured source's name in answers
NAME, DATE = "name", "dateOfBirth"
KEYS = ("email", "phone")  # exact keys a clerk may type: a hit on one is a match by key


class MatchInputError(ValueError):
    """A typed value that cannot be read (`dateOfBirth: 31/02/1985`); `argument` names it."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


def input_members(decl: EntityDecl) -> tuple[str, ...]:
    """The `match` input's fields: name, dateOfBirth, the exact keys, and every other comparison
    of the entity's rules by its own name (`postcode`, `addresses`)."""
    out = [NAME, DATE, *(k for k in KEYS if k in decl.keys)]
    for rule in (decl.identity.rules.values() if decl.identity else ()):
        out += [c for c, spec in rule.compare.items() if spec.method not in ("name", "date")]
    return tuple(dict.fromkeys(out))


def _split(name: str) -> tuple[str, str]:
    """(given, family) of one typed name, by the name parser the comparisons use."""
    parsed = HumanName(name)
    given = " ".join(p for p in (parsed.first, parsed.middle) if p)
    if not parsed.last:
        return "", name.strip()   # one word: compared as a lone name either way
    return given, parsed.last


def probe_record(entity: str, decl: EntityDecl, typed: Mapping[str, str | None], region: str) -> Record:
    """The clerk's values as a record of `entity`; MatchInputError for a date that is none."""
    fields: dict[str, Any] = {}
    keys: dict[str, tuple[str, ...]] = {}

    def put(member: str, value: Any) -> None:
        if member in decl.fields:
            fields[member] = value
        elif member in decl.keys:
            normal = normalize(decl.keys[member].normalize, value.strftime("%Y%m%d") if isinstance(value, date)
                               else value, region)
            if normal is not None:
                keys[member] = (normal,)

    name = (typed.get(NAME) or "").strip()
    born: date | None = None
    if typed.get(DATE):
        born = read_date(str(typed[DATE]).strip())
        if born is None:
            raise MatchInputError(f"match.{DATE}", f"match.{DATE}: '{typed[DATE]}' is not a calendar date; "
                                  "write YYYY-MM-DD")
    given, family = _split(name) if name else ("", "")
    rules = decl.identity.rules.values() if decl.identity else ()
    for rule in rules:
        for member, spec in rule.compare.items():
            reads = rule.reads(member)
            if spec.method == "name" and name:
                for part, value in zip(reads, (given, family) if len(reads) == 2 else (name,), strict=True):
                    if value:
                        put(part, value)
            elif spec.method == "date" and born is not None:
                for part in reads:
                    put(part, born)
            elif spec.method not in ("name", "date") and typed.get(member):
                for part in reads:
                    put(part, str(typed[member]).strip())
    if name and decl.name_field in decl.fields:
        fields.setdefault(decl.name_field, name)
    if born is not None and DATE in decl.fields:
        fields.setdefault(DATE, born)
    for key in KEYS:
        if typed.get(key) and key in decl.keys:
            put(key, str(typed[key]).strip())
    # Blocking keys nobody typed but the typed values imply: a phonetic key of the family name
    # and the year of birth (`soundYear`), a Soundex (`soundex`), a year (`year`).
    implied = {"soundYear": f"{family} {born:%Y%m%d}" if family and born else None,
               "soundex": family or None, "year": f"{born:%Y}" if born else None}
    for rule in rules:
        for part in (p for block in rule.blocking for p in block):
            declared = decl.keys.get(part)
            if part not in keys and declared is not None and implied.get(declared.normalize):
                put(part, implied[declared.normalize])
    return Record(entity, PROBE_SOURCE, "input", fields, keys)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A source record scored against the walk-in, at or above its rule's `suggest`."""

    record: Record
    match: Match


def score_candidates(identity: IdentityDecl, probe: Record, candidates: Sequence[Record],
                     model: IdentityModel | None) -> list[Candidate]:
    """Each candidate's best rule score against the probe, kept at or above `suggest`, best first.

    The probe is the pair's left side, so an explanation reads typed value ~ stored value."""
    trained = {} if model is None else model.rules
    best: dict[Record, Match] = {}
    for name, rule in identity.rules.items():
        for record in candidates:
            found = score_trained(name, rule, trained[name], probe, record) if name in trained \
                else score_pair(name, rule, probe, record)
            if found is None:
                continue
            match = Match(probe, record, found, rule)
            if match.offered >= rule.suggest and (record not in best or best[record].offered < match.offered):
                best[record] = match
    return sorted((Candidate(r, m) for r, m in best.items()), key=lambda c: -c.match.offered)
