"""Comparison levels of the probabilistic scorer: the issue's examples land where a person would put them."""

from __future__ import annotations

from datetime import date

import pytest

from federation.identity.comparisons import LEVELS, compare_level


def level(method: str, a: object, b: object) -> str | None:
    found = compare_level(method, [a], [b]).level
    return None if found is None else LEVELS[method][found]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("John Smith", "john  SMITH", "exact"),
    ("Smith John", "John Smith", "swapped"),
    ("Smith, John", "John Smith", "exact"),                 # the parser reads "family, given"
    ("tommy gre ne", "tommy green", "close"),               # a space typed inside the surname
    ("tommy grene", "tommy green", "close"),
    ("wilde", "jock wilde", "one part"),                    # one word against a full name
    ("Mary-Ann Smith-Jones", "Mary-Ann Smith Jones", "exact"),
    ("Smith-Jones Mary", "Mary Smith-Jones", "swapped"),
    ("Bill Walker", "William Walker", "similar"),           # a nickname
    ("J Walker", "James Walker", "similar"),                # an initial
    ("Peter Wilson", "Mary Wilson", "family only"),        # a sibling, not a typo
    ("Peter Wilson", "Anna Kowalski", "else"),
    ("thomas graue", "thomas shepherd", "given only"),      # one person under another family name
    ("Bill Walker", "William Kowalski", "given only"),      # a nickname counts as the given name
    (("jock", "wilde"), ("jock", "wild"), "close"),         # given and family as separate fields
    ((None, "wilde"), ("jock", "wilde"), "one part"),
    (("wilde", "jock"), ("jock", "wilde"), "swapped"),
])
def test_name_levels(a: object, b: object, expected: str) -> None:
    assert level("name", a, b) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("19850604", "1985-06-04", "exact"),
    ("19850604", "19850614", "one digit"),
    ("19850604", "19850640", None),                          # 40 June is no date: missing
    ("19850614", "19850641", None),
    ("19580614", "19850614", "transposed"),
    ("19850604", "19850406", "day-month swap"),
    ("19850604", "19851122", "same year"),
    ("19620609", "19300609", "day and month"),               # the year replaced, day and month kept
    ("19620609", "20620609", "day and month"),               # a two-digit year read into the wrong century
    ("19620609", "19630609", "one digit"),                   # a year one digit off stays a typo
    ("19620609", "19260609", "transposed"),
    ("19620631", "19300631", None),                          # 31 June is no date, even when both say it
    ("19620609", "19300631", None),
    ("19850604", "19721122", "else"),
    (date(1985, 6, 4), "19850604", "exact"),
    ("19560231", "19560213", None),                          # 31 February: not a date, weighs nothing
    ("", "19560213", None),
])
def test_date_levels(a: object, b: object, expected: str | None) -> None:
    assert level("date", a, b) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("SW1A 1AA", "sw1a1aa", "exact"),
    ("2612", "2621", "1 edit"),          # two neighbours typed the wrong way round: one slip
    ("2612", "2613", "1 edit"),
    ("2612", "2631", "2 edits"),
    ("4418 627", "4418672", "1 edit"),
    ("4418627", "9999999", "else"),
    ("  ", "2612", None),
])
def test_code_levels(a: str, b: str, expected: str | None) -> None:
    assert level("code", a, b) == expected


def test_address_by_tokens() -> None:
    assert level("address", "12 High St., Leeds", "12 high st leeds") == "exact"
    assert level("address", "12 High Street Leeds", "Leeds, 12 High Street") == "token 0.9"
    assert level("address", "12 High Street Leeds", "99 Mill Road Bath") == "else"
    # The same house, the street renamed and the place retyped: a partial agreement, not a disagreement.
    assert level("address", "4 Barnett Close West Gippslan d Hospital Modnury 5235",
                 "4 Marawa Place West Gippsland Hospital Modbury 5253 QLD") == "token 0.6"


def test_lists_take_the_strongest_pair_and_show_it() -> None:
    found = compare_level("code", ["LS1 4AB", "BS2 9ZZ"], ["bs29zz"])
    assert (found.level, found.left, found.right) == (0, "BS2 9ZZ", "bs29zz")
    assert compare_level("text", [], ["x"]).level is None
