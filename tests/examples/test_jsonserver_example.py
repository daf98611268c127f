"""The example connector of docs/connectors/writing.md passes the conformance kit against an API
that answers as json-server does (typicode/json-server 0.17: repeated `field=value` parameters are
alternatives, `field_like` is a case-blind regular expression, the answer a bare JSON array)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.sdk.testing import TABLES, ConnectorConformance, Harness, SourceCalls, context, json_body, mapping
from examples.connectors.jsonserver import JsonServerConnector
from tests.conformance.dataset_api import Stall, serve_dataset_app


def _kept(row: dict[str, Any], query: Any) -> bool:
    for name in set(query):
        wanted = query.getall(name)
        if name.endswith("_like"):
            value = row.get(name.removesuffix("_like"))
            if value is None or not any(re.search(w, str(value), re.IGNORECASE) for w in wanted):
                return False
        elif str(row.get(name)) not in wanted:
            return False
    return True


def json_server(calls: SourceCalls, stall: Stall) -> web.Application:
    def resource(entity: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            calls.hit()
            await stall.wait()
            return web.json_response([r for r in json_body(entity) if _kept(r, request.query)])

        return handle

    async def db(_: web.Request) -> web.Response:
        return web.json_response({t: json_body(e) for e, t in TABLES.items()})

    app = web.Application()
    app.router.add_get("/", db)
    for entity, table in TABLES.items():
        app.router.add_get(f"/{table}", resource(entity))
    return app


class TestJsonServerExample(ConnectorConformance):
    @pytest.fixture
    def conformance_harness(self, tmp_path: Path) -> Iterator[Harness]:
        calls, stall = SourceCalls(), Stall()
        with serve_dataset_app(json_server(calls, stall)) as url:
            options = {"base_url": url, "timeout": 0.5,
                       "entities": {e: {"resource": TABLES[e], **mapping(e)} for e in TABLES}}

            def make() -> JsonServerConnector:
                return JsonServerConnector("kit", JsonServerConnector.validate_options(options), context(tmp_path))

            yield Harness(make=make, calls=calls, stall=stall, timeout=0.5)
