import pytest

from connectors.sdk.regions import RegionRule, RowRegion, region_rule
from federation.regions import region_code, region_or_error


@pytest.mark.parametrize(("text", "code"), [
    ("FR", "FR"), ("fr", "FR"), ("France", "FR"), ("FRANCE", "FR"), ("FRA", "FR"), ("250", "FR"),
    ("UK", "GB"), ("United Kingdom", "GB"), ("USA", "US"), ("U.S.A.", "US"), ("Germany", "DE"),
    ("Venezuela", "VE"), ("South Korea", "KR"), ("Russia", "RU"), (" czech  republic ", "CZ"),
])
def test_country_names_and_codes_read_case_insensitively(text: str, code: str) -> None:
    assert region_code(text) == code


@pytest.mark.parametrize("text", ["Atlantis", "Austri", "", "XX", "Antarctica"])
def test_no_guessing_and_no_region_without_phone_numbers(text: str) -> None:
    assert region_code(text) is None


def test_config_error_names_the_value() -> None:
    with pytest.raises(ValueError, match="'Atlantis' is not a country"):
        region_or_error("Atlantis")


def test_most_specific_level_wins_and_a_row_country_falls_back_to_the_next_fixed_one() -> None:
    assert region_rule(("FR", "DE", None), "GB") == RegionRule("FR")
    assert region_rule((None, None, "DE"), "GB") == RegionRule("DE")
    assert region_rule((None, None, None), "GB") == RegionRule("GB")
    rule = region_rule((RowRegion(column="country"), None, "DE"), "GB")
    assert rule == RegionRule("DE", "country")
    assert rule.of({"country": "Argentina"}.__getitem__) == ("AR", None)
    assert rule.of({"country": None}.__getitem__) == ("DE", None)
    region, problem = rule.of({"country": "Narnia"}.__getitem__)
    assert region == "DE" and problem is not None and "'Narnia'" in problem
