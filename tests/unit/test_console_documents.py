"""The console's and MCP's documents are generated from the served model, per role."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from graphql import parse, validate

from federation.api.schema import build_schema
from federation.config.loader import load_config, load_model
from federation.console.documents import Documents
from federation.errors import ConfigError
from federation.model.loader import builtin_model, merge_models
from federation.security.settings import SecuritySettings

DEMO = Path(__file__).resolve().parents[2] / "federation" / "demo" / "demo.yaml"


def documents(security: SecuritySettings | None = None) -> tuple[Documents, set[str]]:
    model = load_model(DEMO)
    schema = build_schema(model, security)
    return Documents(model, schema._schema, security, schema.registered_documents), schema.registered_documents


def test_config_added_entity_and_relations_are_in_every_generated_document() -> None:
    built, registered = documents()
    role = built.for_role(None)
    assert role is not None
    search = role.documents["search.email"]
    assert "warranties { ...ConsoleWarranty }" in search  # Customer.warranties, added by the demo's config
    assert "fragment ConsoleWarranty on Warranty" in search and "policyNumber" in search and "premium {" in search
    assert "warranties { id policyNumber" in search  # Purchase.warranties: a short reference
    assert "customer_360" in role.documents and "warranties" in role.documents["customer_360"]
    schema = build_schema(load_model(DEMO))._schema
    for name, text in role.documents.items():
        assert not validate(schema, parse(text)), name
    assert len(registered) == len(role.documents)
    layout = role.layout["entities"]
    assert {r["name"] for r in layout["Customer"]["relations"]} >= {"purchases", "cases", "warranties"}
    assert "interactions" not in {r["name"] for r in layout["Customer"]["relations"]}  # display: hidden
    plan = next(f for f in layout["Warranty"]["fields"] if f["name"] == "plan")
    assert plan["format"] == "status" and plan["label"] == "Plan" and plan["builtin"] is False


def test_denied_fields_are_left_out_and_masked_ones_still_read() -> None:
    security = SecuritySettings.model_validate({
        "anonymous_role": "agent",
        "roles": {"agent": {"allow": ["*"], "deny": ["Warranty.premium", "Customer.dateOfBirth"],
                            "mask": {"Customer.emails": "email"}}}})
    built, _ = documents(security)
    role = built.for_role("agent")
    assert role is not None
    search = role.documents["search.phone"]
    assert "premium" not in search and "dateOfBirth" not in search
    assert "emails" in search and "policyNumber" in search


def test_a_deep_model_reads_less_deep_rather_than_over_the_cost_budget() -> None:
    security = SecuritySettings.model_validate({"anonymous_role": "a", "roles": {"a": {"allow": ["*"]}},
                                                "limits": {"max_cost": 300}})
    built, _ = documents(security)
    role = built.for_role("a")
    assert role is not None and "events" not in role.documents["search.email"]


def test_a_display_hint_for_a_missing_field_names_file_path_and_close_matches(tmp_path: Path) -> None:
    config = yaml.safe_load(DEMO.read_text("utf-8"))
    config["model"]["entities"]["Warranty"]["display"] = {"policyNumbr": {"label": "Policy"}}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text and "model.entities.Warranty.display.policyNumbr" in text
    assert "close: policyNumber" in text


def test_fuzzy_identity_rules_add_possible_matches_and_the_decision_mutations() -> None:
    rules = {"person": {"blocking": [["dateOfBirth"]], "link": 0.92, "suggest": 0.7,
                        "compare": {"name": {"method": "name", "weight": 4},
                                    "dateOfBirth": {"method": "date", "weight": 3}}}}
    model = merge_models(builtin_model(), {"entities": {"Customer": {"identity": {"rules": rules}}}})
    schema = build_schema(model)
    role = Documents(model, schema._schema, None).for_role(None)
    assert role is not None
    assert "possibleMatches { score reasons customer { id name" in role.documents["search.email"]
    assert "linkRecords(a: $a, b: $b, reason: $reason)" in role.documents["linkRecords"]
    for name, text in role.documents.items():
        assert not validate(schema._schema, parse(text)), name
