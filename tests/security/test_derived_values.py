"""Issue 25, finding 10: a rule follows its data everywhere.

`support` is denied Customer.name, Customer.phones, Purchase.total and Payment.amount. Those
values must not come back derived: in conflicts, link reasons, timeline summaries, purchaseStats
labels and totals, or the MCP tools, which run through the same role layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from federation.api.types import Conflict, ConflictValue
from federation.security.derived import follow_rules
from federation.security.policy import Policy
from federation.security.settings import RoleSettings
from tests.agents.conftest import call, text_of
from tests.security.conftest import SECURITY, api_key
from tests.stories.conftest import LiveDemo, post

# Sam Reid: the POS and the CRM disagree on his name and were linked by his phone number.
SAM, SAM_PHONE, SAM_NAMES = "pos:00004711", "+447700900505", ("SAMUEL REID", "Sam Reid")
# The washer-and-dryer customer: a 978.00 GBP card charge, linked by phone.
HART = "pos:00003021"
WHO = """query($id: ID!) { customer(id: $id) {
  id conflicts { field chosen values { value source localId } } sourceRecords { source localId linkedBy }
  timeline { kind summary ref } purchases { conflicts { field chosen values { value } } } } }"""
STATS = "query($by: PurchaseGroupBy!) { purchaseStats(groupBy: $by) { groups { key label count totals { amount } } } }"


def _ask(live: LiveDemo, role: str, query: str, **variables: Any) -> dict[str, Any]:
    return post(live.handle.url, query, variables, api_key(role))


def test_conflicts_on_a_denied_field_are_not_listed(secured: LiveDemo) -> None:
    admin = _ask(secured, "admin", WHO, id=SAM)["data"]["customer"]
    assert [c["field"] for c in admin["conflicts"]] == ["name"]  # the data holds the conflict
    body = _ask(secured, "support", WHO, id=SAM)
    assert body["data"]["customer"]["conflicts"] == []
    assert not any(name in json.dumps(body) for name in SAM_NAMES)


def test_link_reasons_withhold_a_denied_value_and_keep_the_record_ids(secured: LiveDemo) -> None:
    records = _ask(secured, "support", WHO, id=SAM)["data"]["customer"]["sourceRecords"]
    reasons = [r for record in records for r in record["linkedBy"]]
    assert "phone = (withheld) ~ crm:C-1005" in reasons
    assert "storeCustomerNumber = 00004711 ~ crm:C-1005 (scope: group store-customers)" in reasons  # not denied
    assert not any("900505" in r for r in reasons)
    # A role masking phones sees the masked number; the ids after '~' are never masked.
    agent = _ask(secured, "agent", WHO, id=SAM)["data"]["customer"]["sourceRecords"]
    assert "phone = *********505 ~ crm:C-1005" in [r for record in agent for r in record["linkedBy"]]
    assert "phone = *********505 ~ pos:00004711" in [r for record in agent for r in record["linkedBy"]]


def test_timeline_summaries_leave_out_denied_amounts(secured: LiveDemo) -> None:
    admin = [e["summary"] for e in _ask(secured, "admin", WHO, id=HART)["data"]["customer"]["timeline"]]
    assert "CHARGE 978.00 GBP by CARD" in admin
    body = _ask(secured, "support", WHO, id=HART)
    summaries = [e["summary"] for e in body["data"]["customer"]["timeline"]]
    assert "CHARGE by CARD" in summaries
    assert "STORE purchase BF-2025-0042 (DELIVERED)" in summaries
    assert "978.00" not in json.dumps(body["data"])


def test_purchase_stats_withhold_totals_and_labels_of_denied_fields(secured: LiveDemo) -> None:
    admin = _ask(secured, "admin", STATS, by="CUSTOMER")["data"]["purchaseStats"]["groups"]
    assert any(g["label"] == "Sam Reid" for g in admin) and all(g["totals"] for g in admin if g["key"] != "none")
    groups = _ask(secured, "support", STATS, by="CUSTOMER")["data"]["purchaseStats"]["groups"]
    assert {g["key"] for g in groups} == {g["key"] for g in admin}  # customer ids: readable
    assert all(g["label"] is None and g["totals"] == [] for g in groups)
    # Groups come in key order: their order by spend would rank the hidden totals.
    assert [g["key"] for g in groups] == sorted(g["key"] for g in groups)
    stores = _ask(secured, "support", STATS, by="STORE")["data"]["purchaseStats"]["groups"]
    assert "OXFORD STREET" in [g["label"] for g in stores]  # Store.name is not denied


def test_top_spenders_rank_by_a_denied_total(secured: LiveDemo) -> None:
    body = post(secured.handle.url, "{ purchaseStats(groupBy: STORE, top: 2) { groups { key } } }",
                headers=api_key("support"))
    assert body["data"]["purchaseStats"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "Purchase.total" in body["errors"][0]["message"]


def test_a_role_without_customer_access_cannot_group_by_customer(secured: LiveDemo) -> None:
    body = _ask(secured, "analyst", STATS, by="CUSTOMER")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "Customer.id" in body["errors"][0]["message"]
    assert all(s["calls"] == 0 for s in body["extensions"]["sources"].values())  # before any source call


async def test_mcp_tools_follow_the_same_rules(secured: LiveDemo) -> None:
    result, _ = await call(secured, "customer_360", {"customer_id": SAM}, api_key("support"))
    text = text_of(result)
    assert not result.is_error and SAM in text
    assert not any(value in text for value in (*SAM_NAMES, SAM_PHONE, "900505"))
    result, _ = await call(secured, "customer_timeline", {"customer_id": HART}, api_key("support"))
    assert "CHARGE by CARD" in text_of(result) and "978.00" not in text_of(result)


def test_a_masked_field_masks_its_conflict_values() -> None:
    policy = Policy("p", RoleSettings(allow=("*",), mask={"Customer.name": "redact", "Customer.dateOfBirth": "year"}),
                    frozenset({"Customer"}))
    values = [ConflictValue(value="1985-06-14", source="pos", localId="1", observedAt=None),
              ConflictValue(value="1985-07-01", source="crm", localId="C-1", observedAt=None)]
    conflicts = [Conflict(field="dateOfBirth", chosen="1985-06-14", values=values),
                 Conflict(field="name", chosen="Sam Reid", values=values)]
    (born,) = follow_rules(policy, "Customer", "Conflict", conflicts, {})  # a redacted field's conflict: gone
    assert born.chosen == "1985-01-01" and [v.value for v in born.values] == ["1985-01-01", "1985-01-01"]
    assert [v.localId for v in born.values] == ["1", "C-1"]


def test_values_quoted_in_a_fuzzy_match_reason_follow_their_fields() -> None:
    from federation.security.derived import link_reasons

    policy = Policy("p", RoleSettings(allow=("*",), deny=("Customer.name",), mask={"Customer.dateOfBirth": "year"}),
                    frozenset({"Customer"}))
    reason = "rule name-dob 0.93: name 'Pat O'Brien' ~ 'P O'Brien' 0.91, dateOfBirth '1985-06-14' 1.00 ~ crm:C-9"
    fields = {"name": None, "dateOfBirth": None}
    (shown,) = link_reasons(policy, "Customer", [reason], fields, policy.decide("SourceRecord", "linkedBy"))
    assert shown == ("rule name-dob 0.93: name '(withheld)' ~ '(withheld)' 0.91, dateOfBirth '1985-01-01' 1.00"
                     " ~ crm:C-9")


def test_the_analyst_cli_prints_what_the_role_may_read(tmp_path: Path) -> None:
    import hashlib

    import yaml

    from federation.demo.data import build_demo
    from federation.demo.run import demo_config_text
    from tests.stories.test_analyst_cli import run

    build_demo(tmp_path)
    config = yaml.safe_load(demo_config_text())
    config["sources"] = {n: s for n, s in config["sources"].items() if s["type"] in ("sql", "files")}  # no CRM server
    groups = config["gateway"]["key_groups"]  # a group names only configured sources
    config["gateway"]["key_groups"] = {g: [s for s in m if s in config["sources"]] for g, m in groups.items()}
    config["security"] = {"roles": {"support": SECURITY["roles"]["support"]},
                          "api_keys": [{"name": "s", "sha256": hashlib.sha256(b"support-key-0123456789").hexdigest(),
                                        "role": "support"}]}
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(config))
    document = tmp_path / "q.graphql"
    document.write_text(f'{{ customer(id: "{HART}") {{ id timeline {{ summary }} }} }}')
    result = run(str(document), "--config", str(tmp_path / "g.yaml"), "--role", "support", "--format", "json",
                 env={"ONEPANE_API_KEY": "support-key-0123456789"})
    assert result.returncode == 0, result.stderr
    assert "CHARGE by CARD" in result.stdout and "978.00" not in result.stdout
