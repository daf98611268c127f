"""`federation import` reaches connectors only through the registry, and the draft scoring rules."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from connectors.sdk import BaseConnector
from connectors.sdk.drafting.measure import score_draft
from connectors.sdk.drafting.profile import words
from connectors.sdk.drafting.values import codes, looks_epoch, looks_phone, looks_yyyymmdd
from federation import registry
from federation.cli import main
from federation.drafts import DraftError, DraftRequest
from federation.importing import drafter, main_import


class ExportDrafter(BaseConnector):
    """A third party's connector offering its own import kind."""

    kind = "crm-export"
    drafts: ClassVar[frozenset[str]] = frozenset({"crm-export"})

    @classmethod
    async def draft(cls, kind: str, request: DraftRequest) -> str:
        if request.target == "broken":
            raise DraftError("cannot read broken: no such export")
        return f"sources:\n  {request.name or 'crm'}:\n    type: crm-export\n"


def test_the_builtins_offer_sql_and_openapi_through_the_registry() -> None:
    assert drafter("sql").kind == "sql"
    assert drafter("openapi").kind == "rest"
    with pytest.raises(DraftError, match=r"no connector drafts 'soap' imports \(valid: .*openapi.*sql"):
        drafter("soap")


def test_a_third_party_connector_drafts_its_own_kind(capsys: pytest.CaptureFixture[str]) -> None:
    registry.register("crm-export", f"{__name__}:ExportDrafter")
    assert main(["import", "crm-export", "export.json", "--name", "crm"]) == 0
    assert capsys.readouterr().out == "sources:\n  crm:\n    type: crm-export\n"
    assert main_import("crm-export", "broken") == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "federation import crm-export: cannot read broken: no such export\n")


HAND: dict[str, Any] = {"entities": {
    "Customer": {"table": "customers", "id": "id", "fields": {"phones": {"columns": ["phone", "fax"]}},
                 "keys": {"phone": {"columns": ["phone", "fax"]}}},
    "Purchase": {"select": "SELECT o.id, o.state FROM shop.orders o", "id": "id",
                 "fields": {"status": {"column": "state", "transform": [{"enum": {"o": "PENDING", "s": "SHIPPED"}}]}}},
    "Case": {"path": "/accounts/7/tickets", "records": "data", "id": "id"},
}}


def test_a_field_is_right_with_the_same_columns_in_order_and_the_same_steps() -> None:
    draft = {"entities": {
        "Customer": {"table": "customers", "id": "id", "fields": {"phones": {"columns": ["fax", "phone"]}},
                     "keys": {"phone": {"columns": ["phone", "fax"]}}},
        "Purchase": {"table": "orders", "id": "id",  # a select counts as its FROM table
                     "fields": {"status": {"column": "state", "transform": [{"enum": {"o": "PENDING", "s": "SHIPPED",
                                                                                      "x": "UNKNOWN"}}]}}},
        "Case": {"path": "/accounts/{account}/tickets", "records": "data", "id": "id"},  # parameters ignored
    }}
    score = score_draft(draft, HAND)
    assert score.wrong == ["Customer.fields.phones"]
    assert (score.right, score.total) == (5, 6)


def test_an_enum_table_must_agree_on_every_hand_written_code() -> None:
    draft = {"entities": {"Purchase": {"table": "orders", "id": "id", "fields": {
        "status": {"column": "state", "transform": [{"enum": {"o": "PROCESSING", "s": "SHIPPED"}}]}}}}}
    assert score_draft(draft, HAND, {"Purchase"}).wrong == ["Purchase.fields.status"]


def test_names_are_split_into_singular_words() -> None:
    assert words("order_details") == ("order", "detail")
    assert words("customerEmail") == ("customer", "email")
    assert words("Categories") == ("category",)


def test_values_are_recognised_by_shape() -> None:
    assert looks_yyyymmdd("19960704") and looks_yyyymmdd(20240229) and not looks_yyyymmdd("20240230")
    assert looks_epoch(1_700_000_000) == "s" and looks_epoch(1_700_000_000_000) == "ms" and looks_epoch(42) is None
    assert codes(["A", "B", "A", "B"]) == ["A", "B"] and codes(["a", "b", "c"]) is None
    assert codes([1, 2, 1, 2, 1]) == ["1", "2"] and codes([True, False, True, False]) is None
    assert looks_phone("030-0074321", "DE") and not looks_phone("12209", "DE")
