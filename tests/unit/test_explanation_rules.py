"""A fuzzy match's explanation follows the role's rules: no level or weight of a field it may not read."""

from __future__ import annotations

from federation.api.types import ComparisonWeight, MatchExplanation
from federation.security.derived import follow_rules
from federation.security.policy import Policy
from federation.security.settings import RoleSettings

GUARDED = frozenset({"Customer", "Query"})
FOUND = MatchExplanation(rule="person", other="crm:C-9", matchProbability=0.97, matchWeight=5.2, prior=-3.0,
                         comparisons=[ComparisonWeight(comparison="name", level="exact", weight=6.1),
                                      ComparisonWeight(comparison="dateOfBirth", level="one digit", weight=2.1)])


def explained(**role: object) -> MatchExplanation:
    policy = Policy("r", RoleSettings.model_validate(role), GUARDED)
    result: MatchExplanation = follow_rules(policy, "Customer", "MatchExplanation", FOUND, {})
    return result


def test_a_role_reading_everything_sees_every_comparison_and_the_sum() -> None:
    assert explained(allow=["*"]) == FOUND


def test_a_masked_or_denied_field_takes_its_comparison_and_the_sum_with_it() -> None:
    for role in ({"allow": ["*"], "mask": {"Customer.dateOfBirth": "year"}},
                 {"allow": ["*"], "deny": ["Customer.dateOfBirth"]}):
        shown = explained(**role)
        assert [c.comparison for c in shown.comparisons] == ["name"]
        assert shown.matchWeight is None and shown.prior is None  # the rest no longer adds up to them
        assert shown.matchProbability == FOUND.matchProbability


def test_a_list_of_explanations_is_ruled_one_by_one() -> None:
    policy = Policy("r", RoleSettings(allow=("*",), deny=("Customer.name",)), GUARDED)
    (shown,) = follow_rules(policy, "Customer", "MatchExplanation", [FOUND], {})
    assert [c.comparison for c in shown.comparisons] == ["dateOfBirth"]


def test_a_flag_whose_condition_reads_a_denied_field_is_not_shown() -> None:
    from federation.api.types import Flag

    flag = Flag(code="DUPLICATE_DELIVERY", message="2 deliveries were completed for this order",
                reads=(("Shipment", "status"),))
    guarded = frozenset({"Customer", "Shipment", "Query"})
    reader = Policy("r", RoleSettings(allow=("*",)), guarded)
    assert follow_rules(reader, "Purchase", "Flag", [flag], {}) == [flag]
    denied = Policy("r", RoleSettings(allow=("*",), deny=("Shipment.status",)), guarded)
    assert follow_rules(denied, "Purchase", "Flag", [flag], {}) == []
