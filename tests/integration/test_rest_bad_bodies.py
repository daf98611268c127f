"""Bad answers from a real loopback API, and `verify()` probing each entity's endpoint once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from connectors.sdk import SearchRequest, SourceError, SourceRejectedInput, SourceUnavailable
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app
from tests.integration.test_rest_connector import KEY, LOG, new_app, serve, source

LONG = "Quota exceeded for key " + KEY + "\n" + "x" * 500
GOOD = {"data": [{"id": 1, "email": "ann@example.com", "name": "Ann Lee"}]}


def raw(body: str, content_type: str = "application/json", status: int = 200) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=body, status=status, headers={"Content-Type": content_type})

    return handler


def answer(body: Any, status: int = 200) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    return handler


def flaky() -> web.Application:
    app = new_app()
    routes = {
        "/v1/good": answer(GOOD),
        "/v1/empty": raw(""),
        "/v1/truncated": raw('{"data": [{"id": 1, "email": "ann@exa'),
        "/v1/garbled": raw('{"data": [{"id": 1,, "email": 2}]}'),
        "/v1/html": raw("<!doctype html><title>Sign in</title>", "text/html"),
        "/v1/html-as-json": raw("<html><body>Bad gateway</body></html>"),
        "/v1/envelope": answer({"data": [], "errors": [{"message": LONG, "code": 7}]}),
        "/v1/envelope-object": answer({"data": GOOD["data"], "error": {"message": "Session expired"}}),
        "/v1/bad-request": answer({"errors": [{"message": "unknown filter 'ids'"}]}, status=400),
        "/v1/wrong-types": answer({"data": [
            {"id": 1, "email": "ann@example.com", "name": {"first": "Ann"}, "tags": ["vip"]},
            {"id": 2, "email": "bob@example.com", "name": ["Bob", "Lee"], "loyalty": [{"no": 1}]},
            {"id": 3, "email": "cat@example.com", "name": "Cat Lee", "loyalty": ["LC-1", "LC-2"]},
            {"id": 4, "email": "dan@example.com", "name": True, "loyalty": [1e308, 42]},
        ]}),
        "/v1/results": answer({"results": [], "paging": {}}),
        "/v1/data-string": answer({"data": "maintenance"}),
        "/v1/data-number": answer({"data": 1e308}),
        "/v1/data-empty-object": answer({"data": {}}),
        "/v1/data-scalars": answer({"data": [{"id": 1, "email": "ann@example.com"}, 7, "x"]}),
        "/v1/auth": answer({"message": "bad key"}, status=401),
    }
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    return app


def options(base: str, path: str, error_path: str | None = "errors[0].message") -> dict[str, Any]:
    return {
        "base_url": base,
        "auth": {"type": "api_key", "header": "X-Api-Key", "value": KEY},
        **({"error_path": error_path} if error_path else {}),
        "entities": {"Customer": {
            "path": path, "records": "data",
            "pagination": {"type": "page", "size": 50},
            "id": {"path": "id"},
            "fields": {"name": {"path": "name"}, "emails": {"path": "email"},
                       "loyaltyNumbers": {"path": "loyalty"}},
            "keys": {"email": {"path": "email"}},
        }},
    }


async def failure(tmp_path: Path, path: str, **extra: Any) -> SourceError:
    async with serve(flaky()) as base, source(tmp_path, options(base, path, **extra)) as api:
        with pytest.raises(SourceError) as caught:
            await api.search("Customer", SearchRequest())
    return caught.value


BAD = [
    ("/v1/empty", "HTTP 200 from GET /v1/empty has an empty body (expected JSON)"),
    ("/v1/truncated", "HTTP 200 from GET /v1/truncated is not valid JSON: it ends early after 37 bytes"),
    ("/v1/garbled", "is not valid JSON: malformed at line 1 column 20"),
    ("/v1/html", "got HTTP 200 with content type 'text/html' and looks like HTML"),
    ("/v1/html-as-json", "is not valid JSON: the body looks like HTML"),
    ("/v1/data-string", "records path 'data' holds a string ('maintenance'), not a list or object of records"),
    ("/v1/data-number", "records path 'data' holds a number (1e+308), not a list or object of records"),
    ("/v1/data-empty-object", "records path 'data' holds an empty object, not a list or object of records"),
    ("/v1/data-scalars", "records path 'data' holds 2 item(s) that are not objects (first: 7)"),
]


async def test_an_http_400_is_the_requests_fault_not_the_sources(tmp_path: Path) -> None:
    """A 400 answers the values this request sent: BAD_USER_INPUT to that caller, never a breaker failure."""
    async with serve(flaky()) as base, source(tmp_path, options(base, "/v1/bad-request")) as api:
        with pytest.raises(SourceRejectedInput) as caught:
            await api.search("Customer", SearchRequest())
    assert caught.value.code == "BAD_USER_INPUT"
    assert str(caught.value) == ("source 'api' refused a value of this request: "
                                 "HTTP 400 from GET /v1/bad-request: 'unknown filter 'ids''")


@pytest.mark.parametrize(("path", "message"), BAD, ids=[row[0] for row in BAD])
async def test_bad_bodies_are_source_errors(tmp_path: Path, path: str, message: str) -> None:
    error = await failure(tmp_path, path)
    assert message in str(error) and str(error).startswith("source 'api': ")
    assert not isinstance(error, SourceUnavailable)


async def test_error_envelope_is_quoted_masked_and_truncated(tmp_path: Path) -> None:
    message = str(await failure(tmp_path, "/v1/envelope"))
    assert "HTTP 200 from GET /v1/envelope carries an error at 'errors[0].message': 'Quota exceeded" in message
    assert KEY not in message and "key *** x" in message and "\n" not in message
    assert message.endswith("x…'") and len(message) < 320


async def test_error_envelope_object_uses_its_message(tmp_path: Path) -> None:
    message = str(await failure(tmp_path, "/v1/envelope-object", error_path="error"))
    assert message.endswith("carries an error at 'error': 'Session expired'")


async def test_without_error_path_an_envelope_is_data(tmp_path: Path) -> None:
    async with serve(flaky()) as base, source(tmp_path, options(base, "/v1/envelope-object", None)) as api:
        assert len(await api.search("Customer", SearchRequest())) == 1


async def test_wrong_field_type_fails_only_that_field(tmp_path: Path) -> None:
    async with serve(flaky()) as base, source(tmp_path, options(base, "/v1/wrong-types")) as api:
        ann, bob, cat, dan = sorted(await api.search("Customer", SearchRequest()), key=lambda r: r.local_id)
    assert ann.fields["name"] is None and ann.fields["emails"] == ["ann@example.com"]
    assert ann.errors == {"name": "Customer api:1 field name (from name): got a JSON object where String is expected: "
                                  '{"first":"Ann"}'}
    assert ann.keys == {"email": ("ann@example.com",)}
    assert bob.errors["name"].endswith('(from name): got a JSON array where String is expected: ["Bob","Lee"]')
    assert bob.errors["loyaltyNumbers"].endswith(
        '(from loyalty): got an array of JSON objects or arrays where [String] is expected: [{"no":1}]')
    assert cat.errors == {} and cat.fields["loyaltyNumbers"] == ["LC-1", "LC-2"]
    # JSON true and 1e308 are not text: a field error showing the value, never "True" or "1E308" served as data
    assert dan.fields["name"] is None and dan.fields["loyaltyNumbers"] is None
    assert dan.errors["name"].endswith("(from name): got the JSON boolean true where String is expected")
    assert dan.errors["loyaltyNumbers"].endswith("(from loyalty): got the JSON number 1e+308 where String is expected")


async def test_verify_reports_each_entity_once(tmp_path: Path) -> None:
    app = flaky()
    async with serve(app) as base:
        raw_options = options(base, "/v1/good")
        entities = raw_options["entities"]
        entities["Case"] = {"path": "/v1/missing", "id": {"path": "id"}}
        entities["Interaction"] = {"path": "/v1/results", "records": "data", "id": {"path": "id"}}
        entities["Store"] = {"path": "/v1/auth", "id": {"path": "id"}}
        entities["Product"] = {"path": "/v1/envelope", "records": "data", "id": {"path": "id"}}
        async with source(tmp_path, raw_options) as api:
            problems = await api.verify()
    assert problems[:3] == [
        "entities.Case.path: GET /v1/missing answered HTTP 404 (no such endpoint)",
        "entities.Interaction.records: 'data' matched nothing in the answer of GET /v1/results, "
        "not a list or object of records (valid: results, paging)",
        "entities.Store.path: authentication failed (HTTP 401) on GET /v1/auth",
    ]
    (envelope,) = problems[3:]
    assert envelope.startswith("entities.Product.path: HTTP 200 from GET /v1/envelope carries an error at")
    assert KEY not in envelope
    assert ("GET", "/v1/good", "page=1&size=1") in app[LOG]  # the smallest first page
    assert len(app[LOG]) == 5


# -- the same through GraphQL: what an agent sees ----------------------------------------------

LIST = "{ customerList(first: 10) { nodes { id name loyaltyNumbers } } }"


async def _ask_gateway(tmp_path: Path, path: str) -> dict[str, Any]:
    async with serve(flaky()) as base:
        source_options = {"type": "rest", **options(base, path)}
        config = {"security": {"anonymous_role": "all", "roles": {"all": {"allow": ["*"]}}},
                  "sources": {"crm": source_options}}
        (tmp_path / "onepane.yaml").write_text(yaml.safe_dump(config))
        gateway = Gateway.from_config(load_config(tmp_path / "onepane.yaml", {}))
        async with serve_app(create_app(gateway)) as url, aiohttp.ClientSession() as session, session.post(
                url + "/graphql", json={"query": LIST}) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
    return body


async def test_wrong_json_types_reach_the_agent_as_field_errors_showing_the_raw_value(tmp_path: Path) -> None:
    body = await _ask_gateway(tmp_path, "/v1/wrong-types")
    # One record's unreadable list does not blank the page: a list field it could not read is
    # served empty with its error (its type is a non-null list; null would null every record).
    nodes = {n["id"]: n for n in body["data"]["customerList"]["nodes"]}
    assert list(nodes) == ["crm:1", "crm:2", "crm:3", "crm:4"]
    assert nodes["crm:4"] == {"id": "crm:4", "name": None, "loyaltyNumbers": []}  # never "True", "1E308"
    assert nodes["crm:3"] == {"id": "crm:3", "name": "Cat Lee", "loyaltyNumbers": ["LC1", "LC2"]}  # normalized codes
    order = list(nodes)
    errors = {(order[e["path"][2]], e["path"][3]): e for e in body["errors"]}
    dan = errors[("crm:4", "name")]
    assert dan["extensions"]["code"] == "SOURCE_DATA_ERROR" and dan["extensions"]["source"] == "crm"
    assert "got the JSON boolean true where String is expected" in dan["message"]
    loyalty = errors[("crm:4", "loyaltyNumbers")]
    assert loyalty["extensions"] == {"code": "SOURCE_DATA_ERROR", "source": "crm"}  # not kept: nothing served
    assert "got the JSON number 1e+308 where String is expected" in loyalty["message"]
    assert loyalty["message"].startswith("source 'crm': Customer crm:4 field loyaltyNumbers")
    assert '{"first":"Ann"}' in errors[("crm:1", "name")]["message"]


async def test_a_records_path_that_is_not_a_list_is_a_source_error_never_an_empty_answer(tmp_path: Path) -> None:
    body = await _ask_gateway(tmp_path, "/v1/data-string")
    assert body["extensions"]["sources"]["crm"]["ok"] is False
    (error,) = body["errors"]
    assert error["extensions"]["source"] == "crm" and error["extensions"]["code"].startswith("SOURCE_")
    assert "records path 'data' holds a string ('maintenance'), not a list" in error["message"]
