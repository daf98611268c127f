"""Fellegi-Sunter training without labels: EM recovers known m, a trained model links a typo the
weighted mean missed, explanations sum, and a model file that does not fit the config is refused."""

from __future__ import annotations

import json
import random
import sqlite3
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from federation.identity.fellegi import IdentityModel, ModelError, score_trained
from federation.identity.matching import scored_pairs
from federation.identity.model_file import load_model
from federation.identity.scoring import score_pair
from federation.identity.splink import from_splink, to_splink
from federation.identity.training import Levels, em, train, u_from_levels
from federation.model import builtin_model
from federation.model.identity import LINK, SUGGEST
from federation.model.loader import merge_models
from federation.records import Record

TRUE_M = [(0.85, 0.1, 0.05), (0.7, 0.2, 0.1), (0.9, 0.1)]
TRUE_U = [(0.01, 0.04, 0.95), (0.05, 0.15, 0.8), (0.2, 0.8)]


def _draw(rng: random.Random, probs: tuple[float, ...]) -> int:
    return rng.choices(range(len(probs)), probs)[0]


def test_em_recovers_known_m_and_match_share_from_unlabelled_pairs() -> None:
    rng = random.Random(3)
    patterns: Counter[Levels] = Counter()
    for _ in range(40_000):
        table = TRUE_M if rng.random() < 0.25 else TRUE_U
        patterns[tuple(_draw(rng, p) for p in table)] += 1
    result = em(patterns, [3, 3, 2], TRUE_U, used=[0, 1, 2])
    assert result.share == pytest.approx(0.25, abs=0.02)
    for i, m in enumerate(TRUE_M):
        assert result.m[i] == pytest.approx(m, abs=0.03)


def test_u_counts_random_pairs_and_never_gives_a_level_zero() -> None:
    u = u_from_levels([(0, None), (2, 1), (2, 1), (2, None)], [3, 2])
    assert u[0][2] > u[0][0] > 0 and u[0][1] > 0
    assert sum(u[1]) == pytest.approx(1.0)


ENTITY = merge_models(builtin_model(), {"entities": {"Customer": {
    "fields": {"givenName": {"type": "String"}, "familyName": {"type": "String"}, "postcode": {"type": "String"}},
    "identity": {"rules": {"person": {
        "blocking": [["dateOfBirth"], ["postcode"], ["familyName"]],
        "compare": {"name": {"method": "name", "fields": ["givenName", "familyName"]},
                    "dateOfBirth": {"method": "date"},
                    "postcode": {"method": "code", "shared": True}}}}}}}}).entities["Customer"]
IDENTITY = ENTITY.identity
assert IDENTITY is not None
GIVEN = ["james", "mary", "john", "linda", "peter", "susan", "david", "karen", "ahmed", "wei", "olga", "tariq",
         "sophie", "lucas", "mateo", "aroha", "kofi", "ines", "yusuf", "hana"]
FAMILY = ["smith", "nguyen", "okafor", "kowalski", "garcia", "murphy", "tanaka", "haddad", "silva", "brown",
          "walker", "rossi", "kim", "novak", "dubois", "jensen", "ward", "patel", "cohen", "ivanova"]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("abcdefghijklmnoprstuvw") + word[i + 1:]


def _person(source: str, local_id: str, given: str | None, family: str, born: str | None, postcode: str) -> Record:
    return Record("Customer", source, local_id, fields={"givenName": given, "familyName": family,
                                                        "dateOfBirth": born, "postcode": postcode})


def _samples(seed: int = 5, people: int = 600, wrong_century: float = 0.0) -> dict[str, list[Record]]:
    """Two systems; each person in one or both, the second copy with a typo, a missing or wrong value
    (and, with `wrong_century`, that share of second copies with the birth year in the next century:
    a two-digit year read as 20xx)."""
    rng = random.Random(seed)
    a: list[Record] = []
    b: list[Record] = []
    for i in range(people):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d")
        postcode = str(rng.randrange(2000, 2400))
        a.append(_person("a", str(i), given, family, born, postcode))
        if rng.random() < 0.5:
            noise = rng.random()
            g, f, d, p = given, family, born, postcode
            if noise < 0.3:
                f = _typo(family, rng)
            elif noise < 0.5:
                d = d[:7] + str((int(d[7]) + 3) % 10)
            elif noise < 0.6:
                g = None
            elif noise < 0.8:
                p = p[:3] + str((int(p[3]) + 1) % 10)
            if rng.random() < wrong_century:
                d = "20" + d[2:]
            b.append(_person("b", str(i), g, f, d, p))
        else:
            b.append(_person("b", str(i), rng.choice(GIVEN), rng.choice(FAMILY),
                             (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                             str(rng.randrange(2000, 2400))))
    return {"a": a, "b": b}


@pytest.fixture(scope="module")
def model() -> IdentityModel:
    return train("Customer", IDENTITY, ENTITY, _samples(), random_pairs=30_000)


def test_trained_weights_order_the_levels_and_the_prior_is_small(model: IdentityModel) -> None:
    rule = model.rules["person"]
    name = rule.comparisons["name"]
    weights = [name.weight(i) for i in range(len(name.levels))]
    assert weights[0] > 5 > 0 > weights[-1]                     # exact names: strong evidence; else: against
    assert rule.comparisons["dateOfBirth"].weight(0) > rule.comparisons["dateOfBirth"].weight(1) > 0
    assert 1e-5 < rule.prior < 0.01


def test_a_typo_the_weighted_mean_missed_links_with_an_explanation_that_sums(model: IdentityModel) -> None:
    rule = IDENTITY.rules["person"]
    shop = _person("a", "1", "tommy", "green", "19850604", "2612")
    pos = _person("b", "9", "tommy", "grene", "19850614", "2612")   # surname typo and a date digit off
    assert score_pair("person", rule, shop, pos).value < rule.link     # the old scorer does not link it
    found = scored_pairs(IDENTITY, ENTITY, [shop], [pos], model)
    assert len(found) == 1 and found[0].links
    score = found[0].score
    assert score.value >= LINK and score.weight is not None
    assert score.weight == pytest.approx(score.prior + sum(c.weight for c in score.comparisons), abs=1e-6)
    assert {c.member: c.level for c in score.comparisons} == {
        "name": "close", "dateOfBirth": "one digit", "postcode": "exact"}
    assert "dateOfBirth one digit '19850604' ~ '19850614'" in score.explain()


def test_different_people_sharing_a_birthday_are_not_suggested(model: IdentityModel) -> None:
    one = _person("a", "1", "mary", "smith", "19850604", "2612")
    other = _person("b", "2", "peter", "okafor", "19850604", "2390")
    assert scored_pairs(IDENTITY, ENTITY, [one], [other], model) == []


def test_records_with_nothing_to_compare_are_never_linked(model: IdentityModel) -> None:
    one = _person("a", "1", None, "", "31021985", "")
    other = _person("b", "2", None, "", "31021985", "")
    assert scored_pairs(IDENTITY, ENTITY, [one], [other], model) == []
    assert SUGGEST < LINK


def test_model_file_round_trips_and_mismatches_are_named(model: IdentityModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model.write(path)
    assert load_model(path, "Customer", IDENTITY, ["a", "b"]).rules["person"].prior == model.rules["person"].prior
    data = json.loads(path.read_text())
    assert data["rules"]["person"]["comparisons"]["dateOfBirth"]["levels"][1]["level"] == "one digit"

    with pytest.raises(ModelError, match=r"no model file at .*missing.json: train one with `federation identity"):
        load_model(tmp_path / "missing.json", "Customer", IDENTITY, ["a", "b"])
    with pytest.raises(ModelError, match="trained on sources a, b; this config's Customer sources are a, c"):
        load_model(path, "Customer", IDENTITY, ["a", "c"])

    other = merge_models(builtin_model(), {"entities": {"Customer": {"identity": {"rules": {"person": {
        "blocking": [["dateOfBirth"]], "compare": {"name": {"method": "text"}, "dateOfBirth": {"method": "date"}}}}}}}})
    changed = other.entities["Customer"].identity
    assert changed is not None
    with pytest.raises(ModelError, match="compares dateOfBirth, name, postcode; the config compares dateOfBirth, name"):
        load_model(path, "Customer", changed, ["a", "b"])

    data["rules"]["person"]["comparisons"]["dateOfBirth"]["levels"].pop()
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"dateOfBirth has levels exact, one digit, .*train again"):
        load_model(path, "Customer", IDENTITY, ["a", "b"])
    path.write_text("{not json")
    with pytest.raises(ModelError, match="is not JSON"):
        load_model(path, "Customer", IDENTITY, ["a", "b"])


def test_agreeing_on_a_common_name_weighs_less_than_on_a_rare_one() -> None:
    samples = _samples(seed=8, people=400)
    rng = random.Random(2)
    samples["a"] += [_person("a", f"M{i}", "mary", "smith",
                             (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                             str(rng.randrange(2000, 2400))) for i in range(60)]
    model = train("Customer", IDENTITY, ENTITY, samples, random_pairs=20_000)
    assert "marysmith" in model.rules["person"].comparisons["name"].terms
    common = scored_pairs(IDENTITY, ENTITY, [_person("a", "x", "mary", "smith", "19700101", "2100")],
                          [_person("b", "y", "mary", "smith", "19700101", "2100")], model)[0].score
    rare = scored_pairs(IDENTITY, ENTITY, [_person("a", "x", "olga", "ivanova", "19700101", "2100")],
                        [_person("b", "y", "olga", "ivanova", "19700101", "2100")], model)[0].score
    name = {c.member: c for c in common.comparisons}["name"]
    assert name.term_adjustment < -1 and name.weight < {c.member: c for c in rare.comparisons}["name"].weight
    assert "(common value -" in common.explain()
    assert common.weight == pytest.approx(common.prior + sum(c.weight for c in common.comparisons), abs=1e-6)


def test_a_name_one_person_holds_in_many_records_is_not_common() -> None:
    """Term frequencies count people, not records: one woman kept six times (three systems, their
    duplicates) makes her rare name no more common, while sixty different Mary Smiths do."""
    samples = _samples(seed=8, people=400)
    rng = random.Random(2)
    samples["a"] += [_person("a", f"M{i}", "mary", "smith",
                             (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).strftime("%Y%m%d"),
                             str(rng.randrange(2000, 2400))) for i in range(60)]
    samples["b"] += [_person("b", f"Z{i}", "zofia", "wisniewska", "19610723" if i != 3 else "19610732", "2311")
                     for i in range(30)]
    model = train("Customer", IDENTITY, ENTITY, samples, random_pairs=20_000)
    terms = model.rules["person"].comparisons["name"].terms
    assert "marysmith" in terms and "zofiawisniewska" not in terms


def test_twins_at_one_address_are_offered_never_merged_and_siblings_neither(model: IdentityModel) -> None:
    """Same birthday, same postcode, same surname, other given names: all the evidence adds up past
    `suggest`, but the postcode is shared by a household. Twins, or one record whose given name was
    replaced: the evidence cannot tell, so a person decides (a possible match), never the rule.
    Siblings born on other days at that address are neither merged nor offered."""
    one = _person("a", "1", "peter", "okafor", "19900412", "2200")
    twin = _person("b", "2", "susan", "okafor", "19900412", "2200")
    score = score_trained("person", IDENTITY.rules["person"], model.rules["person"], one, twin)
    assert score is not None and score.value >= SUGGEST
    assert {c.member: c.level for c in score.comparisons}["name"] == "family only"
    [offered] = scored_pairs(IDENTITY, ENTITY, [one], [twin], model)
    assert not offered.links and offered.offered >= SUGGEST > offered.decisive

    sibling = _person("b", "3", "susan", "okafor", "19930807", "2200")
    assert scored_pairs(IDENTITY, ENTITY, [one], [sibling], model) == []


def test_day_and_month_is_learned_from_the_data_and_relatives_are_still_not_offered() -> None:
    """Where a system reads some two-digit years into the wrong century, EM learns the `day and
    month` level as evidence for a match; it is personal (relatives seldom share a birthday's day and
    month), so one record whose given name was also replaced is offered at its address. A parent and
    a child at that address (other given name, other birth date) are still neither merged nor offered."""
    model = train("Customer", IDENTITY, ENTITY, _samples(wrong_century=0.1), random_pairs=30_000)
    dob = model.rules["person"].comparisons["dateOfBirth"]
    weights = dict(zip(dob.levels, (dob.weight(i) for i in range(len(dob.levels))), strict=True))
    assert weights["day and month"] > 0 > weights["else"]
    assert weights["exact"] > weights["day and month"]

    child = _person("a", "1", "peter", "okafor", "19900412", "2200")
    parent = _person("b", "2", "susan", "okafor", "19620907", "2200")
    assert scored_pairs(IDENTITY, ENTITY, [child], [parent], model) == []
    mother = _person("b", "3", "susan", "okafor", "19620412", "2200")   # day and month shared by chance
    assert all(not m.links for m in scored_pairs(IDENTITY, ENTITY, [child], [mother], model))

    renamed = _person("b", "4", "susan", "okafor", "20900412", "2200")   # the same person, two fields wrong
    [offered] = scored_pairs(IDENTITY, ENTITY, [child], [renamed], model)
    assert {c.member: c.level for c in offered.score.comparisons}["dateOfBirth"] == "day and month"
    assert not offered.links and offered.offered >= SUGGEST


def test_a_model_trained_before_the_day_and_month_level_is_refused(model: IdentityModel, tmp_path: Path) -> None:
    """A model file written before `day and month` existed has one date level fewer: a start-up error
    naming the comparison and saying to train again, never a silent shift of every later level."""
    path = tmp_path / "old.json"
    model.write(path)
    data = json.loads(path.read_text())
    levels = data["rules"]["person"]["comparisons"]["dateOfBirth"]["levels"]
    data["rules"]["person"]["comparisons"]["dateOfBirth"]["levels"] = [lv for lv in levels
                                                                      if lv["level"] != "day and month"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"dateOfBirth has levels exact, one digit, transposed, day-month swap, "
                                         r"same year, else; this gateway's date levels are .*day-month swap, "
                                         r"day and month, same year, else: train again"):
        load_model(path, "Customer", IDENTITY, ["a", "b"])


def _splink_levels(column: str, levels: list[tuple[str, float, float]]) -> dict[str, object]:
    return {"output_column_name": column, "comparison_levels": [
        {"sql_condition": f'"{column}_l" IS NULL OR "{column}_r" IS NULL', "is_null_level": True},
        *({"sql_condition": sql, "label_for_charts": sql, "m_probability": m, "u_probability": u}
          for sql, m, u in levels)]}


def test_day_and_month_goes_to_splink_as_sql_and_comes_back_from_its_two_edits_level(model: IdentityModel) -> None:
    """Exported: the level's SQL holds for a wrong year with day and month kept, not for another day
    (Splink takes the first level that holds, so an exact date meets `exact` first). Imported: a
    Splink date comparison's `<= 2` edits level (two year digits), else its ELSE, as no
    date-difference level holds a wrong year whatever its distance."""
    exported = to_splink(model, "person")
    dob = next(c for c in exported["comparisons"] if c["output_column_name"] == "dateOfBirth")
    level = next(lv for lv in dob["comparison_levels"] if lv["label_for_charts"] == "dateOfBirth day and month")
    trained = model.rules["person"].comparisons["dateOfBirth"]
    assert (level["m_probability"], level["u_probability"]) == (trained.m[4], trained.u[4])
    with sqlite3.connect(":memory:") as db:   # Splink's SQL, on a real engine
        def holds(left: str, right: str) -> bool:
            sql = level["sql_condition"].replace('"dateOfBirth_l"', "?", 1).replace('"dateOfBirth_r"', "?", 1)
            return bool(db.execute(f"SELECT {sql}", (left, right)).fetchone()[0])
        assert holds("19620609", "19300609") and holds("19620609", "20620609")
        assert not holds("19620609", "19620610")

    words = [("given_name", "given"), ("family_name", "family")]
    names = [_splink_levels(c, [(f'"{c}_l" = "{c}_r"', 0.9, 0.01), ("ELSE", 0.1, 0.99)]) for c, _ in words]
    postcode = _splink_levels("postcode", [('"postcode_l" = "postcode_r"', 0.9, 0.01), ("ELSE", 0.1, 0.99)])
    date_levels = [('"date_of_birth_l" = "date_of_birth_r"', 0.8, 0.001),
                   ('damerau_levenshtein("date_of_birth_l", "date_of_birth_r") <= 1', 0.1, 0.004),
                   ('damerau_levenshtein("date_of_birth_l", "date_of_birth_r") <= 2', 0.05, 0.02),
                   ("ELSE", 0.05, 0.975)]
    for levels, expected in ((date_levels, (0.05, 0.02)), ([*date_levels[:2], date_levels[3]], (0.05, 0.975))):
        data = {"probability_two_random_records_match": 0.001,
                "comparisons": [*names, _splink_levels("date_of_birth", levels), postcode]}
        read = from_splink(data, "Customer", IDENTITY, ["a", "b"], "splink.json").rules["person"]
        found = read.comparisons["dateOfBirth"]
        assert (found.m[4], found.u[4]) == expected
