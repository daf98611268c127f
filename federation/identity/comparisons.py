"""Comparison levels for probabilistic identity: how far apart two values are, as a named level.

Each method orders its levels from the strongest agreement to `else`; a pair of values lands on
exactly one level, or on None when either side has no readable value (a blank, an impossible
calendar date): a missing value is no evidence either way and weighs nothing. The trained model
(`federation.identity.fellegi`) gives each level its weight; the level names are written into the
model file, so changing a method's levels here makes old model files a start-up error.

| method | levels, strongest first |
| --- | --- |
| name | exact, swapped, close, similar, one part, family only, given only, else |
| date | exact, one digit, transposed, day-month swap, day and month, same year, else |
| code | exact, 1 edit, 2 edits, else (postcodes, identity numbers; two adjacent characters swapped are one edit) |
| address | exact, token 0.9, token 0.75, token 0.6, else |
| text | exact, jaro-winkler 0.92, jaro-winkler 0.8, else |
| exact | exact, else |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from nameparser import HumanName
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from federation.keys import normalize_text

__all__ = ["LEVELS", "TERM_METHODS", "Outcome", "PersonName", "compare_level", "date_level", "parse_name",
           "read_date", "read_terms", "term_of"]

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_PUNCT = re.compile(r"[^\w\s]")
_ISO = re.compile(r"^\s*(\d{4})-?(\d{2})-?(\d{2})\s*$")
_CLOSE, _SIMILAR = 0.92, 0.80

# Short forms of given names, both directions checked: nicknames score as "similar", not "else".
_NICKNAMES = {
    "alex": "alexander", "andy": "andrew", "ben": "benjamin", "bill": "william", "billy": "william",
    "bob": "robert", "bobby": "robert", "cathy": "catherine", "charlie": "charles", "chris": "christopher",
    "dan": "daniel", "danny": "daniel", "dave": "david", "ed": "edward", "eddie": "edward", "fred": "frederick",
    "jim": "james", "jimmy": "james", "jamie": "james", "jen": "jennifer", "jenny": "jennifer",
    "joe": "joseph", "jon": "jonathan", "kate": "katherine", "katie": "katherine", "kathy": "katherine",
    "liz": "elizabeth", "beth": "elizabeth", "matt": "matthew", "meg": "margaret", "maggie": "margaret",
    "peggy": "margaret", "mike": "michael", "nick": "nicholas", "pat": "patricia", "pete": "peter",
    "rob": "robert", "sam": "samuel", "steve": "stephen", "sue": "susan", "tom": "thomas", "tommy": "thomas",
    "tony": "anthony", "will": "william", "becky": "rebecca", "harry": "henry", "jack": "john",
    "johnny": "john", "debbie": "deborah", "greg": "gregory", "ken": "kenneth", "ron": "ronald", "tim": "timothy",
}

LEVELS: dict[str, tuple[str, ...]] = {
    "name": ("exact", "swapped", "close", "similar", "one part", "family only", "given only", "else"),
    "date": ("exact", "one digit", "transposed", "day-month swap", "day and month", "same year", "else"),
    "code": ("exact", "1 edit", "2 edits", "else"),
    "address": ("exact", "token 0.9", "token 0.75", "token 0.6", "else"),
    "text": ("exact", "jaro-winkler 0.92", "jaro-winkler 0.8", "else"),
    "exact": ("exact", "else"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """The level two records reached on one comparison (None: a value is missing) and the values behind it."""

    level: int | None
    left: str = ""
    right: str = ""
    term: str | None = None   # at the exact level, the agreed value as read (for term frequencies)


# -- names ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name as comparable parts: given and family (spaces and hyphens removed), or one lone word."""

    given: str
    family: str
    givens: tuple[str, ...]   # every way to read the given part ("mary ann" → "mary", "maryann")
    families: tuple[str, ...]
    whole: str                # every word in order, squashed: equal wholes are one name however split

    @property
    def lone(self) -> bool:
        """One word whose role is unknown ("wilde"): compared against either part."""
        return bool(self.given) != bool(self.family)


def _squash(text: str) -> str:
    return text.replace("-", "").replace(" ", "").replace("'", "")


def _clean(value: Any) -> str:
    return (normalize_text(str(value)) or "").replace(".", " ").strip()


@lru_cache(maxsize=65_536)  # the same names recur across pairs: parse each once
def parse_name(value: Any) -> PersonName | None:
    """A name from a (given, family) pair of fields or from one string, split by a name parser.

    A string ("Dr John van der Berg", "Smith, John") is split by `nameparser`; middle words are
    read both as part of the given name and as part of the family name, so a space typed inside a
    surname ("tommy gre ne") still meets "green".
    """
    if isinstance(value, tuple):
        given, family = (_clean(v) if v not in (None, "") else "" for v in value)
        if not given and not family:
            return None
        return PersonName(_squash(given), _squash(family), _variants(given), _variants(family),
                          _squash(given + family))
    text = _clean(value)
    if not text:
        return None
    if " " not in text.replace("-", " ").strip() and "," not in str(value):
        return PersonName(_squash(text), "", (_squash(text),), (), _squash(text))
    parsed = HumanName(str(value))
    first, middle, last = (_clean(p) for p in (parsed.first, parsed.middle, parsed.last))
    if not last:
        first, _, last = text.partition(" ")
    givens = {_squash(first), *([_squash(f"{first} {middle}")] if middle else [])}
    families = {_squash(last), *([_squash(f"{middle} {last}")] if middle else [])}
    return PersonName(_squash(first), _squash(last), tuple(sorted(givens - {""})), tuple(sorted(families - {""})),
                      _squash(f"{first}{middle}{last}"))


def _variants(part: str) -> tuple[str, ...]:
    words = part.replace("-", " ").split()
    return tuple(sorted({_squash(part), *(w for w in words if len(words) > 1)} - {""}))


def _best(xs: Sequence[str], ys: Sequence[str]) -> float:
    return max((float(JaroWinkler.similarity(x, y)) for x in xs for y in ys), default=0.0)


def _nickname(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return True
    return _NICKNAMES.get(a, a) == _NICKNAMES.get(b, b)


def name_level(a: PersonName, b: PersonName) -> int:
    """The level of two parsed names (see LEVELS["name"])."""
    if a.lone or b.lone:
        return _lone_level(a, b)
    if (a.given == b.given and a.family == b.family) or a.whole == b.whole:
        return 0  # equal, or equal but for spaces and hyphens
    if a.given == b.family and a.family == b.given:
        return 1
    straight = (_best(a.givens, b.givens), _best(a.families, b.families))
    swapped = (_best(a.givens, b.families), _best(a.families, b.givens))
    if min(straight) >= _CLOSE or min(swapped) >= _CLOSE:
        return 2
    if min(straight) >= _SIMILAR or min(swapped) >= _SIMILAR \
            or (straight[1] >= _CLOSE and _nickname(a.given, b.given)):
        return 3
    if straight[1] >= _CLOSE:
        return 5  # relatives share a family name: a sibling, a parent
    if straight[0] >= _CLOSE or _nickname(a.given, b.given):
        return 6  # one person under another family name (marriage, a name typed for another)
    return 7


def _lone_level(a: PersonName, b: PersonName) -> int:
    """One side has a single part ("wilde" vs "jock wilde"): it agrees or it does not."""
    if a.lone and b.lone:
        x, y = a.given or a.family, b.given or b.family
        same_role = bool(a.given) == bool(b.given)
        if x == y:
            return 0 if same_role else 4
        return 4 if float(JaroWinkler.similarity(x, y)) >= _CLOSE else 7
    lone, full = (a, b) if a.lone else (b, a)
    word = lone.given or lone.family
    parts = (*full.givens, *full.families)
    return 4 if _best((word,), parts) >= _CLOSE else 7


# -- dates ------------------------------------------------------------------------------------


def read_date(value: Any) -> date | None:
    """A calendar date from a date, a datetime, `YYYY-MM-DD` or `YYYYMMDD`; None when it is not one.

    `19560231` (no 31 February) is None: a value nobody can read is missing, not a disagreement.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _ISO.match(str(value))
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def date_level(x: date, y: date) -> int:
    """The level of two calendar dates (see LEVELS["date"])."""
    if x == y:
        return 0
    left, right = x.strftime("%Y%m%d"), y.strftime("%Y%m%d")
    differ = [i for i, (c, d) in enumerate(zip(left, right, strict=True)) if c != d]
    if len(differ) == 1:
        return 1
    if len(differ) == 2 and differ[1] == differ[0] + 1 and left[differ[0]] == right[differ[1]] \
            and left[differ[1]] == right[differ[0]]:
        return 2
    if x.year == y.year and x.month == y.day and x.day == y.month:
        return 3
    if (x.month, x.day) == (y.month, y.day):
        # Two of three parts agree, the year not (a two-digit year read into the wrong century, a
        # year keyed for another's): relatives at one address seldom share a birthday's day and month.
        return 4
    return 5 if x.year == y.year else 6


# -- codes, addresses, text --------------------------------------------------------------------


def _code(value: Any) -> str:
    return _NOT_ALNUM.sub("", str(value)).upper()


def code_level(x: str, y: str) -> int:
    # Optimal string alignment: two neighbouring characters typed the wrong way round ("5235" for
    # "5253") are one slip, as a substituted digit is, not two.
    distance = int(OSA.distance(x, y, score_cutoff=3))
    return min(distance, 3)


def address_level(x: str, y: str) -> int:
    if x == y:
        return 0
    ratio = float(fuzz.token_set_ratio(x, y)) / 100
    # A street renamed or a suburb retyped still shares most words: `token 0.6` keeps such a
    # partial agreement from weighing as much against as two unrelated addresses do.
    return 1 if ratio >= 0.9 else 2 if ratio >= 0.75 else 3 if ratio >= 0.6 else 4


def text_level(x: str, y: str) -> int:
    if x == y:
        return 0
    similarity = float(JaroWinkler.similarity(x, y))
    return 1 if similarity >= _CLOSE else 2 if similarity >= _SIMILAR else 3


def _address(value: Any) -> str:
    return " ".join(_PUNCT.sub(" ", normalize_text(str(value)) or "").split())


def _text(value: Any) -> str:
    return normalize_text(str(value)) or ""


def _exact(value: Any) -> str:
    return _NOT_ALNUM.sub("", _text(value))


def _show(value: Any) -> str:
    """A value as the explanation shows it: padding (CHAR columns) trimmed, name parts joined."""
    if isinstance(value, tuple):
        return " ".join(str(v).strip() for v in value if v not in (None, ""))
    return value.isoformat() if isinstance(value, date) else str(value).strip()


# method → (read one value into a comparable form or None, level of two read values)
_READ: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], int]]] = {
    "name": (parse_name, name_level),
    "date": (read_date, date_level),
    "code": (lambda v: _code(v) or None, code_level),
    "address": (lambda v: _address(v) or None, address_level),
    "text": (lambda v: _text(v) or None, text_level),
    "exact": (lambda v: _exact(v) or None, lambda x, y: 0 if x == y else 1),
}


TERM_METHODS = frozenset({"name", "code", "text", "exact"})


def term_of(method: str, read: Any) -> str | None:
    """The form a read value is counted under for term frequencies (None: the method has none)."""
    if method not in TERM_METHODS:
        return None
    return read.whole if isinstance(read, PersonName) else str(read)


def read_terms(method: str, values: Sequence[Any]) -> list[str]:
    """Every readable value's term, for counting how common each is."""
    read = _READ[method][0]
    return [t for v in values if (r := read(v)) is not None and (t := term_of(method, r)) is not None]


def compare_level(method: str, left: Sequence[Any], right: Sequence[Any]) -> Outcome:
    """The strongest level over every pair of readable values; level None when a side has none."""
    read, level_of = _READ[method]
    xs = [(v, r) for v in left if (r := read(v)) is not None]
    ys = [(v, r) for v in right if (r := read(v)) is not None]
    if not xs or not ys:
        return Outcome(None)
    best: Outcome | None = None
    for raw_x, x in xs:
        for raw_y, y in ys:
            level = level_of(x, y)
            if best is None or best.level is None or level < best.level:
                best = Outcome(level, _show(raw_x), _show(raw_y), term_of(method, x) if level == 0 else None)
            if level == 0:
                return best
    assert best is not None
    return best
