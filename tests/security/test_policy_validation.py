"""A role rule naming a type or field the served schema does not have is a config error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from federation.api.schema import build_schema
from federation.config.loader import parse_config
from federation.demo.run import demo_config_text
from federation.errors import ConfigError
from federation.security.report import role_tables
from tests.security.conftest import SECURITY

ENV = {"ONEPANE_CRM_API_KEY": "test-key", "ONEPANE_CRM_URL": "http://127.0.0.1:9"}


def _parse(roles: dict[str, Any], tmp_path: Path) -> Any:
    config = yaml.safe_load(demo_config_text())
    config["security"] = {**SECURITY, "api_keys": [], "roles": roles}
    parsed = parse_config(config, tmp_path / "gateway.yaml", ENV)
    build_schema(parsed.model, parsed.security, config_file=str(parsed.file))  # where role rules are checked
    return parsed


@pytest.mark.parametrize(("role", "where", "says", "near"), [
    ({"allow": ["*"], "mask": {"Customer.email": "email"}},
     "security.roles.r.mask: Customer.email", "no field 'email' on type 'Customer'", "emails"),
    ({"allow": ["*"], "deny": ["Custmer.dateOfBirth"]},
     "security.roles.r.deny: Custmer.dateOfBirth", "no type 'Custmer'", "Customer"),
    ({"allow": ["Query.purchses", "Purchase.*"]},
     "security.roles.r.allow: Query.purchses", "no field 'purchses' on type 'Query'", "purchases"),
    ({"allow": ["*"], "deny": ["*.cardLast"]},
     "security.roles.r.deny: *.cardLast", "no field 'cardLast' on any type", "cardLast4"),
])
def test_a_typo_in_a_role_rule_is_a_config_error(role: dict[str, Any], where: str, says: str, near: str,
                                                 tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse({"r": role}, tmp_path)
    [problem] = caught.value.problems
    assert problem.file.endswith("gateway.yaml") and problem.path == where
    assert says in problem.problem and near in problem.valid.split(", ")


def test_the_documented_roles_are_valid(tmp_path: Path) -> None:
    security = _parse(SECURITY["roles"], tmp_path).security
    assert security is not None and set(security.roles) == {"agent", "analyst", "admin", "support"}


def test_roles_report_says_what_each_role_reads_masks_and_is_denied(tmp_path: Path) -> None:
    config = _parse(SECURITY["roles"], tmp_path)
    assert config.security is not None
    console = Console(record=True, width=400)
    schema = build_schema(config.model, config.security)._schema
    for table in role_tables(schema, frozenset(config.model.entities), config.security):
        console.print(table)
    text = console.export_text()
    assert "role agent (free text redacted of: card, email, phone)" in text
    assert "emails (email)" in text and "role analyst (free text redacted of: nothing)" in text
    customer = [line for line in text.splitlines() if line.strip("│ ").startswith("Customer ")]
    assert any("all" in line.split("│")[-2] for line in customer)  # analyst: Customer denied entirely
