"""Values written in a mapping (constants, defaults, code tables, currencies, transform arguments)
are checked when the config loads: each mistake names the file, the path, the bad value and the
valid choices, instead of being served as UNKNOWN or failing on every record later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.errors import ConfigError


def purchase_source(fields: dict[str, Any]) -> dict[str, Any]:
    return {"sources": {"shop": {"type": "sql", "url": "sqlite+aiosqlite:///shop.db", "entities": {
        "Purchase": {"table": "orders", "id": "id", "fields": fields}}}}}


def problems(tmp_path: Path, config: dict[str, Any]) -> str:
    """Every problem `federation check` reports for `config` (loading, then building the sources)."""
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        Gateway.from_config(load_config(path, env={}))
    message = str(caught.value)
    assert str(path) in message
    return message


ENUM_MISTAKES: list[tuple[dict[str, Any], list[str]]] = [
    ({"status": {"value": "DONE"}},
     ["sources.shop.entities.Purchase.fields.status.value: 'DONE' is not a value of PurchaseStatus",
      "valid: PENDING, PROCESSING"]),
    ({"channel": {"column": "chan", "transform": [{"enum": {"W": "WEB", "S": "SHOP"}}]}},
     ["sources.shop.entities.Purchase.fields.channel.transform[0].enum.S: 'SHOP' is not a value of SalesChannel",
      "valid: WEB, STORE, PHONE, MARKETPLACE, OTHER"]),
    ({"status": {"column": "st", "transform": [{"default": "FINISHED"}]}},
     ["sources.shop.entities.Purchase.fields.status.transform[0].default: 'FINISHED' is not a value of "
      "PurchaseStatus"]),
    ({"placedAt": {"value": "yesterday"}},
     ["sources.shop.entities.Purchase.fields.placedAt.value: 'yesterday' is not an ISO date-time"]),
]


@pytest.mark.parametrize(("fields", "expected"), ENUM_MISTAKES)
def test_written_in_values_outside_the_field_type_are_config_errors(
        tmp_path: Path, fields: dict[str, Any], expected: list[str]) -> None:
    message = problems(tmp_path, purchase_source(fields))
    for text in expected:
        assert text in message


def test_values_inside_the_enum_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(purchase_source({
        "channel": {"value": "store"},
        "status": {"column": "st", "transform": ["strip", {"enum": {"P": "processing", "X": "CANCELLED"}},
                                                 {"default": "UNKNOWN"}]}})))
    gateway = Gateway.from_config(load_config(path, env={}))
    assert "Purchase" in gateway.capabilities["shop"].entities
