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


def field(transform: list[Any], columns: tuple[str, ...] = ("c",)) -> dict[str, Any]:
    return {"columns": list(columns), "transform": transform}


P = "sources.shop.entities.Purchase.fields"

# (field name, mapping, expected text): every transform's argument is checked at load.
ARGUMENT_MISTAKES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("total", field([{"money": "dollars"}]),
     [f"{P}.total.transform: step 1, money: 'dollars' is not an ISO 4217 currency code", "USD (US Dollar)"]),
    ("total", field([{"money_minor": "GPB"}]),
     ["step 1, money_minor: 'GPB' is not an ISO 4217", "GBP (Pound Sterling)"]),
    ("total", field(["money_minor"]), ["money_minor: needs its currency, e.g. {money_minor: GBP}"]),
    ("total", field([{"money_minor": "XAU"}]), ["money_minor: XAU has no minor unit in ISO 4217", "{money: XAU}"]),
    ("total", field(["money"]), [f"{P}.total: money without a currency reads [amount, currency] from two columns"]),
    ("total", field([{"money": "EURO"}], ("amount", "cur")), ["'EURO' is not an ISO 4217 currency code", "EUR (Euro)"]),
    ("placedAt", field([{"datetime": {"format": "YYYYMMDD", "tz": "Europe/Londn"}}]),
     ["datetime: tz 'Europe/Londn' is not an IANA time zone", "close matches: Europe/London"]),
    ("placedAt", field([{"datetime": {"format": "YYYY", "tz": "Mars/Olympus"}}]),
     ["'YYYY' reads no whole date", "; tz 'Mars/Olympus' is not an IANA time zone"]),
    ("placedAt", field([{"datetime": {"format": "ISO", "zone": "UTC"}}]),
     ["datetime: unknown option 'zone' (valid: format, tz)"]),
    ("placedAt", field([{"datetime": "dd/mm/yyyy"}]), ["datetime: 'dd/mm/yyyy' reads no whole date",
                                                      "upper case: mm is minutes"]),
    ("placedAt", field([{"datetime": "%Y-%m-%Q"}]), ["datetime: '%Y-%m-%Q' is not a usable format", "bad directive"]),
    ("placedAt", field([{"epoch": "msec"}]), ["epoch: unit 'msec' is not one of s, ms, us, ns"]),
    ("till", field([{"strip": True}]), ["step 1, strip: takes no argument (got True)"]),
    ("till", field(["strip", {"split": ""}]), ["step 2, split: takes a separator text"]),
    ("till", field([{"last": "four"}]), ["last: takes a positive count of characters"]),
    ("till", field([{"null_if": {"a": 1}}]), ["null_if: takes a value or a list of values"]),
    ("till", field([{"trim": None}]), ["unknown transform 'trim'", "valid: text, strip"]),
    ("status", field([{"enum": ["P", "C"]}]), ["enum: takes a code table such as {P: PROCESSING"]),
]


@pytest.mark.parametrize(("name", "spec", "expected"), ARGUMENT_MISTAKES)
def test_transform_arguments_are_checked_when_the_config_loads(
        tmp_path: Path, name: str, spec: dict[str, Any], expected: list[str]) -> None:
    message = problems(tmp_path, purchase_source({name: spec}))
    assert f"{P}.{name}" in message
    for text in expected:
        assert text in message


def test_good_arguments_load(tmp_path: Path) -> None:
    path = tmp_path / "onepane.yaml"
    config = purchase_source({
        "total": field([{"money": "usd"}], ("amount", "currency")),
        "placedAt": field([{"datetime": {"format": "DD.MM.YYYY HH:mm", "tz": "America/Sao_Paulo"}}], ("d", "t")),
        "till": field(["strip", {"null_if": ["", "N/A"]}, "upper", {"last": 4}]),
    })
    config["sources"]["shop"]["entities"]["Purchase"]["updated_at"] = field(
        [{"datetime": "YYYY-MM-DDTHH:mm:ss.%f%z"}])  # strptime codes mixed with tokens, an offset
    path.write_text(yaml.safe_dump(config))
    Gateway.from_config(load_config(path, env={}))
