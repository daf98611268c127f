"""Fuzzy scoring: names, dates, addresses, weights, thresholds and rule validation."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from federation.identity.scoring import (
    address_similarity,
    date_similarity,
    date_variants,
    name_similarity,
    score_pair,
)
from federation.model import builtin_model
from federation.model.identity import IdentityDecl, RuleDecl
from federation.model.loader import merge_models
from federation.records import Record


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    ("Ann Lee", "ANN LEE", 1.0, 1.0),
    ("José García", "Jose Garcia", 1.0, 1.0),
    ("Jon Smith", "John Smith", 0.95, 1.0),        # typo in the first name
    ("Ann Smyth", "Ann Smith", 0.88, 0.95),        # typo in the surname
    ("Bill Turner", "William Turner", 0.97, 1.0),  # nickname
    ("Turner William", "William Turner", 0.95, 0.98),  # first and last swapped
    ("J Turner", "James Turner", 0.9, 0.95),       # initial
    ("Mary Wilson", "Peter Wilson", 0.0, 0.6),     # family: same surname, other person
    ("Ann Lee", "Bob Grant", 0.0, 0.5),
])
def test_name_similarity(a: str, b: str, low: float, high: float) -> None:
    assert low <= name_similarity(a, b) <= high


@pytest.mark.parametrize(("a", "b", "expected"), [
    (date(1985, 6, 4), date(1985, 6, 4), 1.0),
    (date(1985, 6, 4), date(1985, 4, 6), 0.85),   # day and month swapped
    (date(1985, 6, 4), "19850604", 1.0),          # YYYYMMDD text
    (date(1985, 6, 4), "1985-06-14", 0.7),        # one digit off
    (date(1985, 6, 4), date(1991, 2, 17), 0.0),
    (date(1985, 6, 4), "not a date", 0.0),
])
def test_date_similarity_tolerates_swaps_and_typos(a: object, b: object, expected: float) -> None:
    assert date_similarity(a, b) == expected


def test_date_variants_add_the_swap_only_when_it_reads_both_ways() -> None:
    assert date_variants([date(1985, 6, 4)]) == [date(1985, 6, 4), date(1985, 4, 6)]
    assert date_variants(["19851304"]) == ["19851304"]  # not a date either way: kept as is
    assert date_variants([date(1985, 6, 24)]) == [date(1985, 6, 24)]


def test_address_tokens_ignore_order_and_case() -> None:
    assert address_similarity("12 High St, Leeds LS1 4AB", "leeds ls1 4ab 12 high st") == 1.0
    assert address_similarity("12 High St, Leeds", "40 Park Road, York") < 0.5


RULE = RuleDecl.model_validate({
    "blocking": [["dateOfBirth"]],
    "compare": {"name": {"method": "name", "weight": 3}, "dateOfBirth": {"method": "date", "weight": 2},
                "addresses": {"method": "address", "weight": 1}},
    "link": 0.9, "suggest": 0.7,
})


def person(local_id: str, name: str | None, born: date | None, address: str | None = None) -> Record:
    fields = {"name": name, "dateOfBirth": born, "addresses": [address] if address else []}
    return Record("Customer", "s", local_id, fields=fields)


def test_weighted_score_and_its_explanation() -> None:
    score = score_pair("person", RULE, person("1", "Jon Smith", date(1980, 3, 2), "1 Elm Rd"),
                       person("2", "John Smith", date(1980, 3, 2), "1 Elm Road"))
    assert 0.9 <= score.value <= 1.0
    text = score.explain()
    assert text.startswith("rule person 0.9") and "name 'Jon Smith' ~ 'John Smith'" in text
    assert "dateOfBirth '1980-03-02' 1.00" in text


def test_missing_values_count_as_no_evidence() -> None:
    full = score_pair("p", RULE, person("1", "Ann Lee", date(1980, 3, 2), "1 Elm Rd"),
                      person("2", "Ann Lee", date(1980, 3, 2), "1 Elm Rd"))
    missing = score_pair("p", RULE, person("1", "Ann Lee", None), person("2", "Ann Lee", date(1980, 3, 2)))
    assert full.value == 1.0
    assert missing.value == pytest.approx((3 + 2 * 0.5 + 0.5) / 6, abs=1e-3)
    assert "dateOfBirth missing" in missing.explain()


def test_family_members_score_below_suggest() -> None:
    score = score_pair("p", RULE, person("1", "Mary Wilson", date(1962, 1, 5), "4 Oak Lane"),
                       person("2", "Lucy Wilson", date(1994, 9, 30), "4 Oak Lane"))
    assert score.value < RULE.suggest


@pytest.mark.parametrize(("rule", "message"), [
    ({"blocking": [["dateOfBirth"]], "compare": {"name": {}}, "link": 1.2}, "less than or equal to 1"),
    ({"blocking": [["dateOfBirth"]], "compare": {"name": {}}, "suggest": -0.1}, "greater than or equal to 0"),
    ({"blocking": [["dateOfBirth"]], "compare": {"name": {}}, "link": 0.6, "suggest": 0.8}, "must not be above"),
    ({"blocking": [], "compare": {"name": {}}}, "at least 1 item"),
    ({"blocking": [["dateOfBirth"]], "compare": {"name": {"method": "soundex"}}}, "'name', 'date'"),
])
def test_bad_rules_are_rejected(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        IdentityDecl.model_validate({"rules": {"r": rule}})


def test_a_rule_naming_an_unknown_field_says_which_are_valid() -> None:
    overlay = {"entities": {"Customer": {"identity": {"rules": {"r": {
        "blocking": [["postcode"]], "compare": {"nam": {"method": "name"}}}}}}}}
    with pytest.raises(ValidationError) as info:
        merge_models(builtin_model(), overlay)
    text = str(info.value)
    assert "identity.rules.r.blocking[0]: no field or key 'postcode'" in text
    assert "identity.rules.r.compare.nam: no field or key 'nam'" in text
    assert "valid: addresses, dateOfBirth, email" in text
