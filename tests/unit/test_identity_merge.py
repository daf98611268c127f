from datetime import UTC, datetime
from decimal import Decimal

from federation.engine.identity import cluster_records
from federation.engine.unified import merge
from federation.model import builtin_model
from federation.records import Money, Record

MODEL = builtin_model()
ORDER = {"shop": 0, "pos": 1, "crm": 2}


def customer(source: str, local_id: str, **keys: str) -> Record:
    return Record("Customer", source, local_id, fields={"name": f"{source} name"},
                  keys={k: (v,) for k, v in keys.items()})


def test_records_sharing_a_linking_key_cluster_transitively() -> None:
    shop = customer("shop", "1", email="ann@x.com")
    crm = customer("crm", "C-9", email="ann@x.com", loyaltyNumber="L77")
    pos = customer("pos", "0047", loyaltyNumber="L77")
    stranger = customer("pos", "0099", loyaltyNumber="L12")
    clusters = cluster_records([shop, crm, pos, stranger], MODEL.entity("Customer").linking_keys)
    assert [sorted(r.local_id for r in c.records) for c in clusters] == [["0047", "1", "C-9"], ["0099"]]


def test_every_link_says_why() -> None:
    shop = customer("shop", "1", email="ann@x.com")
    crm = customer("crm", "C-9", email="ann@x.com")
    (cluster,) = cluster_records([shop, crm], ["email"])
    assert cluster.linked_by[shop] == ("email = ann@x.com ~ crm:C-9",)


def test_non_linking_keys_never_merge() -> None:
    a = Record("Shipment", "dlv", "B1", keys={"orderNumber": ("BF1",)})
    b = Record("Shipment", "dlv", "B2", keys={"orderNumber": ("BF1",)})
    assert len(cluster_records([a, b], MODEL.entity("Shipment").linking_keys)) == 2


def test_disagreement_is_kept_as_a_conflict_with_source_and_time() -> None:
    t1, t2 = datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 11, 3, tzinfo=UTC)
    shop = Record("Purchase", "shop", "7", fields={"status": "PROCESSING"}, updated_at=t1,
                  raw={"status": "processing_in_warehouse"})
    crm = Record("Purchase", "crm", "CASE-1", fields={"status": "CANCELLED"}, updated_at=t2,
                 raw={"status": "cancelled_refunded"})
    unit = merge(MODEL.entity("Purchase"), "Purchase", [shop, crm], {}, ORDER)
    assert unit.values["status"] == "CANCELLED"  # merge rule: latest
    assert unit.values["rawStatuses"] == ["processing_in_warehouse", "cancelled_refunded"]
    (conflict,) = unit.conflicts
    assert [(v.value, v.source, v.observed_at) for v in conflict.values] == [
        ("PROCESSING", "shop", t1), ("CANCELLED", "crm", t2)]


def test_same_value_in_other_spelling_is_no_conflict() -> None:
    a = Record("Customer", "shop", "1", fields={"name": "Zoë Smith"})
    b = Record("Customer", "crm", "2", fields={"name": "zoe  smith"})
    unit = merge(MODEL.entity("Customer"), "Customer", [b, a], {}, ORDER)
    assert unit.conflicts == ()
    assert unit.values["name"] == "Zoë Smith"  # priority: shop is first in source order
    assert unit.id == "shop:1"


def test_lists_union_without_duplicates_in_canonical_form() -> None:
    # Connectors give readable phones in E.164 (read in their source's region, see mapping.py).
    a = Record("Customer", "shop", "1", fields={"emails": [" Ann@X.com"], "phones": ["+44 20 7946 0958"]})
    b = Record("Customer", "crm", "2", fields={"emails": ["ann@x.com", "a2@y.org"], "phones": ["+442079460958"]})
    unit = merge(MODEL.entity("Customer"), "Customer", [a, b], {}, ORDER)
    assert unit.values["emails"] == ["ann@x.com", "a2@y.org"]
    assert unit.values["phones"] == ["+442079460958"]


def test_a_phone_its_source_could_not_read_stays_as_written_once() -> None:
    a = Record("Customer", "shop", "1", fields={"phones": ["283 0338 4290"]})
    b = Record("Customer", "crm", "2", fields={"phones": ["28303384290", "+442079460958"]})
    unit = merge(MODEL.entity("Customer"), "Customer", [a, b], {}, ORDER)
    assert unit.values["phones"] == ["283 0338 4290", "+442079460958"]


def test_money_conflict_compares_amounts() -> None:
    a = Record("Purchase", "shop", "1", fields={"total": Money(Decimal("10.00"), "GBP")})
    b = Record("Purchase", "pos", "2", fields={"total": Money(Decimal("10.0"), "GBP")})
    assert merge(MODEL.entity("Purchase"), "Purchase", [a, b], {}, ORDER).conflicts == ()


def test_unreadable_field_is_reported_not_fatal() -> None:
    a = Record("Purchase", "pos", "1", fields={"placedAt": None, "orderNumber": "X1"},
               errors={"placedAt": "bad date"})
    unit = merge(MODEL.entity("Purchase"), "Purchase", [a], {}, ORDER)
    assert unit.values["orderNumber"] == "X1"
    assert unit.field_errors == {"placedAt": ("bad date",)}


def named(source: str, local_id: str, name: str, **keys: str) -> Record:
    return Record("Customer", source, local_id, fields={"name": name}, keys={k: (v,) for k, v in keys.items()})


def test_household_phone_alone_never_merges_different_people() -> None:
    decl = MODEL.entity("Customer")
    phone = "+442079460777"
    records = [named("shop", "7", "Peter Wilson", phone=phone), named("shop", "8", "Mary Wilson", phone=phone),
               named("pos", "6002", "PETER WILSON", phone=phone), named("crm", "C-1012", "Lucy Wilson", phone=phone)]
    clusters = cluster_records(records, decl.linking_keys, decl.shared_keys, decl.name_field)
    assert sorted(sorted(str(r.ref) for r in c.records) for c in clusters) == [
        ["crm:C-1012"], ["pos:6002", "shop:7"], ["shop:8"]]


def test_shared_phone_links_the_same_person_under_a_short_name() -> None:
    decl = MODEL.entity("Customer")
    records = [named("pos", "4711", "SAMUEL REID", phone="+447700900505"),
               named("crm", "C-1005", "Sam Reid", phone="+447700900505")]
    assert len(cluster_records(records, decl.linking_keys, decl.shared_keys, decl.name_field)) == 1


def test_one_record_merges_exactly_as_the_general_rules_would() -> None:
    from federation.engine import unified

    record = Record("Purchase", "pos", "9", fields={"status": "COMPLETED", "orderNumber": "", "total": None,
                                                   "channel": "STORE"},
                    raw={"status": "C"}, errors={"placedAt": "bad date"})
    fast = merge(MODEL.entity("Purchase"), "Purchase", [record], {}, ORDER)
    slow = unified.merge(MODEL.entity("Purchase"), "Purchase", [record, record], {}, ORDER)  # two: general path
    assert fast.values == slow.values
    assert fast.field_errors == {"placedAt": ("bad date",)}
    assert fast.conflicts == () and fast.id == "pos:9"
    customer = Record("Customer", "crm", "C", fields={"emails": [" A@X.com", "a@x.com"], "name": "Ann"})
    one = merge(MODEL.entity("Customer"), "Customer", [customer], {}, ORDER)
    assert one.values["emails"] == ["a@x.com"] and one.values["name"] == "Ann"


def test_a_lone_record_is_its_own_unit_with_its_own_values() -> None:
    record = Record("Product", "shop", "SKU-1", fields={"name": "Kettle"})
    first = merge(MODEL.entity("Product"), "Product", [record], {record: ()}, ORDER)
    other = merge(MODEL.entity("Product"), "Product", [Record("Product", "shop", "SKU-1", fields={"name": "Pan"})],
                  {}, ORDER)
    assert first.records == (record,) and first.values["name"] == "Kettle" and first.conflicts == ()
    assert other.values["name"] == "Pan"  # the same id with other values: nothing kept from the first


def test_records_that_cannot_link_are_their_own_clusters_without_union_find() -> None:
    items = [Record("LineItem", "shop", str(i), keys={"sku": ("S1",)}) for i in range(3)]  # sku does not link
    clusters = cluster_records(items, MODEL.entity("LineItem").linking_keys)
    assert [[r.local_id for r in c.records] for c in clusters] == [["0"], ["1"], ["2"]]
    assert all(c.linked_by[c.records[0]] == () for c in clusters)


def test_the_same_records_merged_for_the_same_reasons_give_the_same_unit() -> None:
    decl = MODEL.entity("Customer")
    shop = customer("shop", "1", email="ann@x.com")
    crm = customer("crm", "C-9", email="ann@x.com")
    why = {shop: ("email = ann@x.com ~ crm:C-9",), crm: ("email = ann@x.com ~ shop:1",)}
    first = merge(decl, "Customer", [shop, crm], why, ORDER)
    assert merge(decl, "Customer", [shop, crm], dict(why), ORDER) is first  # cached records: merged once
    other = merge(decl, "Customer", [shop, crm], {shop: ("override by agent: same person",), crm: ()}, ORDER)
    assert other is not first and other.linked_by[shop] == ("override by agent: same person",)
    twin = customer("crm", "C-9", email="ann@x.com")  # equal, but another object: merged anew
    assert merge(decl, "Customer", [shop, twin], why, ORDER) is not first
    assert first.id == "shop:1" and [r.source for r in first.records] == ["shop", "crm"]


def test_a_phone_its_normalizer_cannot_read_is_kept_as_written() -> None:
    """585 of 599 customers once showed no phone: numbers stored without a country code were dropped."""
    from federation.engine.unified import _union
    from federation.model import builtin_model
    from federation.records import Record

    field = builtin_model().entities["Customer"].fields["phones"]
    records = [Record(entity="Customer", source="erp", local_id="1",
                      fields={"phones": ["28303384290", "+442079460958", "12 ", "ask  reception"]}),
               Record(entity="Customer", source="crm", local_id="9", fields={"phones": ["+44 20 7946 0958"]})]
    assert _union("phones", field, records) == ["28303384290", "+442079460958", "12", "ask  reception"]
