"""The built-in `rest` connector passes the conformance kit against a real HTTP API on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.rest import RestConnector
from connectors.sdk.testing import TABLES, ConnectorConformance, Harness, SourceCalls, context, mapping
from tests.conformance.dataset_api import Stall, serve_dataset

PAGING = {"type": "offset", "limit": 100, "total_path": "total"}
ENDPOINTS: dict[str, dict[str, Any]] = {
    "Customer": {
        "lookup": {"id": {"param": "id"}, "keys": {"email": {"param": "email"}}},
        "search": {"params": {"name": {"param": "name_prefix", "op": "prefix"}}},
    },
    "Purchase": {
        "lookup": {"id": {"param": "id"}, "refs": {"customer": {"param": "customer_id"}},
                   "keys": {"customerEmail": {"param": "customer_email"}}},
        "search": {"params": {"channel": {"param": "channel"},
                              "placedAt": [{"param": "placed_from", "op": "gte"},
                                           {"param": "placed_to", "op": "lte"}]}},
    },
}


class TestRestConnector(ConnectorConformance):
    @pytest.fixture
    def conformance_harness(self, tmp_path: Path) -> Iterator[Harness]:
        calls, stall = SourceCalls(), Stall()
        with serve_dataset(calls, stall) as url:
            options = {"base_url": url, "read_timeout": 0.5, "entities": {
                entity: {"path": f"/{TABLES[entity]}", "records": "data", "pagination": PAGING,
                         **ENDPOINTS[entity], **mapping(entity)}
                for entity in TABLES}}

            def make() -> RestConnector:
                return RestConnector("kit", RestConnector.validate_options(options), context(tmp_path))

            yield Harness(make=make, calls=calls, stall=stall, timeout=0.5)
