"""The rule that lets a source count its own purchases: only where the engine could never merge them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from federation.config import load_config
from federation.config.models import Config, GatewaySettings, SourceSettings
from federation.contract import Capabilities, Connector, EntityCapabilities, SearchRequest
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.engine.aggregate import pushable
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.identity.overrides import Override, Overrides
from federation.model import builtin_model
from federation.records import Record


class Till(Connector):
    """A source that says which keys its purchases carry and what it can aggregate."""

    kind = "till"

    def __init__(self, name: str, keys: frozenset[str] | None) -> None:
        self.name, self.keys = name, keys

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        return []

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        return []

    def capabilities(self) -> Capabilities:
        return Capabilities({"Purchase": EntityCapabilities(
            lookups=frozenset({"id"}), keys=self.keys, aggregates=frozenset({"channel", ""}),
            sums=frozenset({"total"}))})


def _request(*tills: Till) -> Request:
    config = Config(file=Path("test.yaml"), gateway=GatewaySettings(), model=builtin_model(),
                    sources={t.name: SourceSettings(type="till") for t in tills})
    return Request(Gateway(config, {t.name: t for t in tills}))


@pytest.mark.parametrize(("keys", "expected"), [
    (frozenset(), True),                                   # no key at all: every record stands alone
    (frozenset({"customerEmail", "loyaltyNumber"}), True),  # keys that never link purchases
    (frozenset({"orderNumber"}), False),                   # a linking key could tie two of its records
    (None, False),                                         # a source that does not say: never
])
def test_only_sources_without_linking_keys_push(keys: frozenset[str] | None, expected: bool) -> None:
    request = _request(Till("till", keys))
    assert pushable(request.gateway, Overrides(), "Purchase", "till", "channel", "total") is expected


def test_a_grouping_or_sum_the_source_does_not_serve_is_not_pushed() -> None:
    request = _request(Till("till", frozenset()))
    assert not pushable(request.gateway, Overrides(), "Purchase", "till", "day:placedAt", "total")
    assert not pushable(request.gateway, Overrides(), "Purchase", "till", "channel", "discount")


def test_a_must_link_override_on_one_of_its_records_stops_the_pushdown() -> None:
    request = _request(Till("till", frozenset()), Till("web", frozenset()))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    linked = Overrides([Override("Purchase", "till:7", "web:A-1", "link", "same order", "agent", at)])
    apart = Overrides([Override("Purchase", "till:7", "web:A-1", "never", "two orders", "agent", at)])
    assert not pushable(request.gateway, linked, "Purchase", "till", "channel", "total")
    assert pushable(request.gateway, apart, "Purchase", "till", "channel", "total")  # splitting a lone record: nothing


def test_the_demo_never_pushes_down(tmp_path: Path) -> None:
    """Every demo source that holds purchases maps the order number, so they all merge in the engine."""
    files = build_demo(tmp_path)
    text = demo_config_text().replace("///", f"///{files.folder.as_posix()}/")
    path = tmp_path / "demo.yaml"
    path.write_text(text, "utf-8")
    config = load_config(path, {"ONEPANE_CRM_URL": "http://127.0.0.1:9", "ONEPANE_CRM_API_KEY": "k"})
    request = Request(Gateway.from_config(config))
    holders = request.gateway.sources_for("Purchase")
    assert holders
    assert not any(pushable(request.gateway, Overrides(), "Purchase", s, group, "total")
                   for s in holders for group in ("channel", "", "day:placedAt"))
