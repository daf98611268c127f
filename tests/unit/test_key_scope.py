"""Key scope: an order number links only inside the systems that share its numbering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config import load_config
from federation.engine.identity import cluster_records
from federation.errors import ConfigError
from federation.identity.matching import scored_pairs
from federation.identity.scope import Scopes
from federation.model import builtin_model
from federation.model.loader import merge_models
from federation.records import Record

SOURCE = {"type": "sql", "url": "sqlite+aiosqlite:///x.db",
          "entities": {"Purchase": {"table": "orders", "id": "id", "keys": {"orderNumber": "no"}}}}


def purchase(source: str, local_id: str, number: str, email: str | None = None) -> Record:
    keys = {"orderNumber": (number,), **({"customerEmail": (email,)} if email else {})}
    return Record("Purchase", source, local_id, keys=keys)


def clusters(records: list[Record], scopes: Scopes) -> list[list[str]]:
    found = cluster_records(records, ("orderNumber",), scope=lambda k, s: scopes.bucket("Purchase", k, s))
    return sorted(sorted(str(r.ref) for r in c.records) for c in found)


def with_order_scope(scope: Any, groups: dict[str, list[str]] | None = None) -> Scopes:
    model = merge_models(builtin_model(), {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": scope}}}}})
    return Scopes(model, groups or {})


def test_built_in_order_and_store_customer_numbers_link_only_inside_their_source() -> None:
    model = builtin_model()
    assert model.entity("Purchase").keys["orderNumber"].effective_scope == "source"
    assert model.entity("Customer").keys["storeCustomerNumber"].effective_scope == "source"
    for key in ("email", "phone", "loyaltyNumber"):
        assert model.entity("Customer").keys[key].effective_scope == "global"
    scopes = Scopes(model, {})
    records = [purchase("invoices", "1", "382"), purchase("payments", "9", "382"), purchase("invoices", "2", "382")]
    assert clusters(records, scopes) == [["invoices:1", "invoices:2"], ["payments:9"]]


def test_a_linking_key_without_scope_is_per_source_unless_it_is_a_contact_detail() -> None:
    model = merge_models(builtin_model(), {"entities": {"Warranty": {
        "fields": {"policyNumber": {"type": "String"}},
        "keys": {"policyNumber": {"normalize": "code", "links": True},
                 "holderEmail": {"normalize": "email", "links": True},
                 "holderPhone": {"normalize": "phone"}, "dob": {"normalize": "code"}}}}})
    keys = model.entity("Warranty").keys
    assert keys["policyNumber"].effective_scope == "source"  # an identifier one system issued
    assert keys["holderEmail"].effective_scope == "global"
    assert keys["holderPhone"].effective_scope == "global"
    assert keys["dob"].effective_scope == "global"  # describes, does not link: fuzzy rules compare it anywhere


def test_changing_only_the_scope_keeps_the_built_in_key() -> None:
    key = with_order_scope("global")._model.entity("Purchase").keys["orderNumber"]
    assert (key.normalize, key.links, key.scope) == ("code", True, "global")


def test_a_named_group_links_its_sources_and_says_so() -> None:
    scopes = with_order_scope({"group": "web-orders"}, {"web-orders": ["shop", "crm"]})
    records = [purchase("shop", "1", "382"), purchase("crm", "K7", "382"), purchase("pos", "5", "382")]
    assert clusters(records, scopes) == [["crm:K7", "shop:1"], ["pos:5"]]
    (joined,) = [c for c in cluster_records(records, ("orderNumber",),
                                            scope=lambda k, s: scopes.bucket("Purchase", k, s))
                 if len(c.records) == 2]
    shop = next(r for r in joined.records if r.source == "shop")
    assert joined.linked_by[shop] == ("orderNumber = 382 ~ crm:K7 (scope: group web-orders)",)


def test_a_listed_group_and_global() -> None:
    listed = with_order_scope({"group": ["shop", "pos"]})
    records = [purchase("shop", "1", "382"), purchase("pos", "5", "382"), purchase("crm", "K7", "382")]
    assert clusters(records, listed) == [["crm:K7"], ["pos:5", "shop:1"]]
    assert clusters(records, with_order_scope("global")) == [["crm:K7", "pos:5", "shop:1"]]


def test_a_relation_follows_a_key_only_where_both_scopes_link() -> None:
    scopes = with_order_scope({"group": "web-orders"}, {"web-orders": ["shop", "delivery"]})
    # Shipment.orderNumber is built in per source: the delivery system's 382 is not the shop's.
    assert not scopes.relation_links("Purchase", "orderNumber", "shop", "Shipment", "orderNumber", "delivery")
    assert scopes.relation_links("Purchase", "orderNumber", "shop", "Shipment", "orderNumber", "shop")
    model = merge_models(builtin_model(), {"entities": {
        "Purchase": {"keys": {"orderNumber": {"scope": {"group": "web-orders"}}}},
        "Shipment": {"keys": {"orderNumber": {"scope": {"group": "web-orders"}}}}}})
    both = Scopes(model, {"web-orders": ["shop", "delivery"]})
    assert both.relation_links("Purchase", "orderNumber", "shop", "Shipment", "orderNumber", "delivery")
    assert not both.relation_links("Purchase", "orderNumber", "pos", "Shipment", "orderNumber", "delivery")
    assert both.relation_links("Customer", "email", "shop", "Purchase", "customerEmail", "pos")


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("config", "expected"), [
    ({"gateway": {"key_groups": {"web-orders": ["shop", "posx"]}}},
     ["gateway.key_groups.web-orders[1]: no source 'posx' (valid: pos, shop)"]),
    ({"model": {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": {"group": "web-order"}}}}}},
      "gateway": {"key_groups": {"web-orders": ["shop", "pos"]}}},
     ["model.entities.Purchase.keys.orderNumber.scope.group: no key group 'web-order' in gateway.key_groups "
      "(valid: web-orders)"]),
    ({"model": {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": {"group": ["shop", "crm"]}}}}}}},
     ["model.entities.Purchase.keys.orderNumber.scope.group[1]: no source 'crm' (valid: pos, shop)"]),
    ({"model": {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": "everywhere"}}}}}},
     ["model.entities.Purchase.keys.orderNumber.scope", "'everywhere' is not one of: global, source, {group:"]),
])
def test_a_wrong_scope_is_a_config_error_naming_file_path_and_choices(tmp_path: Path, config: dict[str, Any],
                                                                      expected: list[str]) -> None:
    path = write(tmp_path, {**config, "sources": {"shop": SOURCE, "pos": SOURCE}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert str(path) in message
    for text in expected:
        assert text in message


def test_a_valid_group_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {
        "gateway": {"key_groups": {"web-orders": ["shop", "pos"]}},
        "model": {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": {"group": "web-orders"}}}}}},
        "sources": {"shop": SOURCE, "pos": SOURCE}}), env={})
    assert config.gateway.key_groups == {"web-orders": ("shop", "pos")}


def member_rule_model(blocking: list[list[str]]) -> Any:
    return merge_models(builtin_model(), {"entities": {"Customer": {
        "keys": {"memberNumber": {"normalize": "code", "scope": "source"}},
        "identity": {"rules": {"member": {
            "blocking": blocking,
            "compare": {"memberNumber": {"method": "exact", "weight": 4}, "dateOfBirth": {"method": "date"}},
            "link": 0.8, "suggest": 0.5, "autoLink": True}}}}}})


def member(source: str, local_id: str, number: str, born: str) -> Record:
    return Record("Customer", source, local_id, fields={"dateOfBirth": born}, keys={"memberNumber": (number,)})


def test_a_fuzzy_rule_never_treats_two_systems_member_numbers_as_evidence() -> None:
    ann, bob = member("gym", "1", "M382", "1980-01-02"), member("club", "9", "M382", "1991-07-30")
    model = member_rule_model([["memberNumber"]])
    decl = model.entity("Customer")
    assert decl.identity is not None
    unscoped = scored_pairs(decl.identity, decl, [ann], [bob])
    assert unscoped and unscoped[0].links  # what every source linking by default did
    bucket = Scopes(model, {}).bucketer("Customer")
    assert scored_pairs(decl.identity, decl, [ann], [bob], bucket=bucket) == []  # no shared block across scopes
    by_birth = member_rule_model([["dateOfBirth"]])
    decl = by_birth.entity("Customer")
    assert decl.identity is not None
    twin = member("club", "9", "M382", "1980-01-02")
    (match,) = scored_pairs(decl.identity, decl, [ann], [twin],
                           bucket=Scopes(by_birth, {}).bucketer("Customer"))
    assert not match.links and "memberNumber missing" in match.score.explain()
