"""Clustering under overrides and shared-risk keys, and fuzzy rules in the engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from federation.config.models import Config, GatewaySettings, SourceSettings
from federation.contract import Capabilities, Connector, EntityCapabilities, SearchRequest
from federation.engine.gateway import Gateway
from federation.engine.identity import Edge, cluster_records
from federation.engine.loader import index_records
from federation.engine.request import Request
from federation.engine.residual import matches
from federation.identity.matching import blocking_problems
from federation.identity.overrides import Override, Overrides
from federation.model import builtin_model
from federation.model.loader import merge_models
from federation.records import Record

MODEL = builtin_model()
DECL = MODEL.entity("Customer")
PHONE = "+442079460777"


def named(source: str, local_id: str, name: str | None, **keys: str) -> Record:
    return Record("Customer", source, local_id, fields={"name": name} if name else {},
                  keys={k: (v,) for k, v in keys.items()})


def groups(records: list[Record], **kwargs: Any) -> list[list[str]]:
    clusters = cluster_records(records, DECL.linking_keys, DECL.shared_keys, DECL.name_field, **kwargs)
    return sorted(sorted(str(r.ref) for r in c.records) for c in clusters)


def test_a_nameless_record_cannot_bridge_two_family_members() -> None:
    peter, mary = named("shop", "7", "Peter Wilson", phone=PHONE), named("shop", "8", "Mary Wilson", phone=PHONE)
    nameless = named("pos", "9", None, phone=PHONE)
    for order in ([peter, mary, nameless], [nameless, peter, mary], [peter, nameless, mary]):
        assert groups(order) == [["pos:9"], ["shop:7"], ["shop:8"]]


def test_a_nameless_record_cannot_bridge_through_a_strong_key_either() -> None:
    peter = named("shop", "7", "Peter Wilson", phone=PHONE)
    nameless = named("pos", "9", None, phone=PHONE, email="mary@x.com")
    mary = named("crm", "C1", "Mary Wilson", email="mary@x.com")
    # The email makes the nameless record Mary's; the shared phone then may not join Peter.
    assert groups([peter, nameless, mary]) == [["crm:C1", "pos:9"], ["shop:7"]]


def test_a_nameless_record_joins_when_the_household_is_one_person() -> None:
    peter, again = named("shop", "7", "Peter Wilson", phone=PHONE), named("crm", "C7", "PETER WILSON", phone=PHONE)
    nameless = named("pos", "9", None, phone=PHONE)
    assert groups([peter, again, nameless]) == [["crm:C7", "pos:9", "shop:7"]]


def test_never_link_beats_a_shared_email() -> None:
    a, b = named("shop", "1", "Ann Lee", email="ann@x.com"), named("crm", "C1", "Ann Lee", email="ann@x.com")
    assert groups([a, b]) == [["crm:C1", "shop:1"]]
    assert groups([a, b], never=[(a, b)]) == [["crm:C1"], ["shop:1"]]


def test_never_link_holds_against_transitive_paths() -> None:
    a = named("shop", "1", "Ann Lee", email="ann@x.com")
    middle = named("pos", "5", "Ann Lee", email="ann@x.com", loyaltyNumber="L1")
    b = named("crm", "C1", "Ann Lee", loyaltyNumber="L1")
    found = groups([a, middle, b], never=[(a, b)])
    assert ["crm:C1", "shop:1"] not in found and len(found) == 2


def test_must_link_joins_and_explains_itself() -> None:
    a, b = named("shop", "1", "Ann Lee"), named("crm", "C1", "Ann Lee-Grant")
    (cluster,) = cluster_records([a, b], DECL.linking_keys, joins=[Edge(a, b, "override by sam: same person")])
    assert cluster.linked_by[a] == ("override by sam: same person ~ crm:C1",)
    assert cluster.linked_by[b] == ("override by sam: same person ~ shop:1",)


def test_latest_override_for_a_pair_decides_and_forget_removes_it() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [Override("Customer", "crm:C1", "shop:1", "link", "x", "sam", at),
            Override("Customer", "crm:C1", "shop:1", "never", "y", "ann", at),
            Override("Customer", "crm:C2", "shop:2", "link", "z", "sam", at),
            Override("Customer", "crm:C2", "shop:2", "forget", "undo", "sam", at)]
    snapshot = Overrides(rows)
    assert [o.kind for o in snapshot.of("Customer", "shop:1")] == ["never"]
    assert snapshot.of("Customer", "shop:2") == []


# -- fuzzy rules in the engine ------------------------------------------------------------------

FUZZY = merge_models(MODEL, {"entities": {"Customer": {
    "fields": {"postcode": {"type": "String", "normalize": "code"}},
    "keys": {"postcode": {"normalize": "code"}},
    "identity": {"rules": {
        "person": {"blocking": [["dateOfBirth"], ["postcode"]],
                   "compare": {"name": {"method": "name", "weight": 3},
                               "dateOfBirth": {"method": "date", "weight": 2},
                               "postcode": {"method": "exact", "weight": 1}},
                   "link": 0.95, "suggest": 0.7, "autoLink": True},
        "weak": {"blocking": [["postcode"]], "compare": {"name": {"method": "name"}},
                 "link": 0.99, "suggest": 0.9}}}}}})


class Memory(Connector):
    """Lookups by id and by the keys its records carry; searches filter `in` on dateOfBirth."""

    kind = "memory"

    def __init__(self, name: str, records: list[Record]) -> None:
        self.name, self.records = name, records
        self.calls: list[tuple[str, Any]] = []

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        self.calls.append((by, tuple(values)))
        found = index_records([r for r in self.records if r.entity == entity], by, values)
        return list({r: None for rs in found.values() for r in rs})

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        self.calls.append(("search", request.conditions))
        return [r for r in self.records if r.entity == entity and matches(r, list(request.conditions))]

    def capabilities(self) -> Capabilities:
        lookups = frozenset({"id", "key:email", "key:phone", "key:postcode"})
        return Capabilities({"Customer": EntityCapabilities(lookups=lookups,
                                                            filters={"dateOfBirth": frozenset({"eq", "in"})})})


def person(source: str, local_id: str, name: str, born: date | None, postcode: str | None = None,
           **keys: str) -> Record:
    fields: dict[str, Any] = {"name": name, "dateOfBirth": born, "postcode": postcode}
    all_keys = {k: (v,) for k, v in keys.items()} | ({"postcode": (postcode,)} if postcode else {})
    return Record("Customer", source, local_id, fields=fields, keys=all_keys)


def gateway(*connectors: Memory) -> Gateway:
    config = Config(file=Path("test.yaml"), gateway=GatewaySettings(), model=FUZZY,
                    sources={c.name: SourceSettings(type="memory") for c in connectors})
    return Gateway(config, {c.name: c for c in connectors})


async def test_strong_fuzzy_match_links_and_says_why() -> None:
    shop = Memory("shop", [person("shop", "1", "Jon Smith", date(1980, 3, 2), "LS1 4AB", email="jon@x.com")])
    crm = Memory("crm", [person("crm", "C1", "John Smith", date(1980, 3, 2), "LS14AB")])
    (unit,) = await Request(gateway(shop, crm)).find("Customer", "email", ["jon@x.com"])
    assert [str(r.ref) for r in unit.records] == ["shop:1", "crm:C1"]
    (reason,) = unit.linked_by[unit.records[1]]
    assert reason.startswith("rule person 0.9") and reason.endswith("~ shop:1")
    assert "name 'John Smith' ~ 'Jon Smith' 0.97" in reason and "postcode 'LS14AB' ~ 'LS1 4AB' 1.00" in reason


async def test_swapped_day_and_month_is_found_by_blocking_and_suggested() -> None:
    shop = Memory("shop", [person("shop", "1", "Ann Lee", date(1980, 3, 2), email="ann@x.com")])
    crm = Memory("crm", [person("crm", "C1", "Ann Lee", date(1980, 2, 3))])
    request = Request(gateway(shop, crm))
    (unit,) = await request.find("Customer", "email", ["ann@x.com"])
    assert [str(r.ref) for r in unit.records] == ["shop:1"]  # weak evidence never merges silently
    (match,) = await request.possible_matches(unit)
    assert match.unit.id == "crm:C1" and 0.7 <= match.score < 0.95
    assert "dateOfBirth '1980-02-03' ~ '1980-03-02' 0.85" in match.reasons[0]


async def test_family_members_at_one_address_are_neither_linked_nor_suggested() -> None:
    shop = Memory("shop", [person("shop", "1", "Mary Wilson", date(1962, 1, 5), "LS1 4AB", email="m@x.com")])
    crm = Memory("crm", [person("crm", "C1", "Lucy Wilson", date(1994, 9, 30), "LS1 4AB")])
    request = Request(gateway(shop, crm))
    (unit,) = await request.find("Customer", "email", ["m@x.com"])
    assert len(unit.records) == 1 and await request.possible_matches(unit) == []


async def test_blocking_is_one_call_per_source_and_kind_for_many_records() -> None:
    people = [person("shop", str(i), f"Person {i}", date(1980, 1, 1 + i % 28), f"P{i}", email=f"p{i}@x.com")
              for i in range(40)]
    shop, crm = Memory("shop", people), Memory("crm", [])
    request = Request(gateway(shop, crm))
    crm.calls.clear()
    await request.unify("Customer", people)
    kinds = [c[0] for c in crm.calls]
    assert kinds.count("search") == 1 and kinds.count("key:postcode") == 1


def test_a_blocking_key_no_source_can_filter_on_is_a_problem() -> None:
    caps = {"pos": Capabilities({"Customer": EntityCapabilities(lookups=frozenset({"id", "key:email"}))})}
    problems = blocking_problems(FUZZY, caps)
    assert ("model.entities.Customer.identity.rules.person.blocking[0]",
            "no source can filter Customer on dateOfBirth", "email") in problems


def test_the_same_initial_is_not_the_same_person_on_a_shared_landline() -> None:
    james, jennifer = named("shop", "1", "James Smith", phone=PHONE), named("crm", "C1", "Jennifer Smith", phone=PHONE)
    sam, samuel = named("pos", "4711", "SAMUEL REID", phone="+447700900505"), named("crm", "C5", "Sam Reid",
                                                                                 phone="+447700900505")
    bill, william = named("shop", "9", "Bill Turner", phone="+447700900506"), named("crm", "C9", "William Turner",
                                                                                  phone="+447700900506")
    assert groups([james, jennifer, sam, samuel, bill, william]) == [
        ["crm:C1"], ["crm:C5", "pos:4711"], ["crm:C9", "shop:9"], ["shop:1"]]
