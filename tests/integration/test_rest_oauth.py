"""OAuth2 client credentials against a real loopback token endpoint that counts token requests."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.sdk import SearchRequest, SourceError, SourceUnavailable
from tests.integration.test_rest_connector import FLAGS, LOG, new_app, serve, source

SECRET = "cl1ent-s3cret"
TOKENS = web.AppKey("tokens", list)


async def token(request: web.Request) -> web.Response:
    """Issues `tok-N`; `FLAGS` can refuse the client, answer 503 or set expires_in."""
    flags = request.app[FLAGS]
    form = dict(await request.post())
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        form["client_id"], _, form["client_secret"] = base64.b64decode(header[6:]).decode().partition(":")
    request.app[TOKENS].append(form)
    if flags.get("token_down"):
        return web.json_response({"error": "temporarily_unavailable"}, status=503, headers={"Retry-After": "2"})
    if form.get("client_secret") != SECRET or form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "invalid_client", "error_description": f"bad {form.get('client_secret')}"},
                                 status=401)
    await asyncio.sleep(0.05)  # slow enough that concurrent first calls overlap
    issued = f"tok-{len(request.app[TOKENS])}"
    if not flags.get("revoke_new"):
        flags.setdefault("valid", set()).add(issued)
    return web.json_response({"access_token": issued, "token_type": "Bearer",
                              "expires_in": flags.get("expires_in", 3600)})


async def contacts(request: web.Request) -> web.Response:
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if given not in request.app[FLAGS].get("valid", set()):
        return web.json_response({"message": "token expired"}, status=401)
    request.app[FLAGS].setdefault("seen", []).append(given)
    return web.json_response({"data": [{"id": "1", "email": "ann@example.com"}]})


def crm() -> web.Application:
    app = new_app()
    app[TOKENS] = []
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/v1/contacts", contacts)
    return app


def options(base: str, **auth: Any) -> dict[str, Any]:
    return {
        "base_url": base,
        "auth": {"type": "oauth2_client_credentials", "token_url": f"{base}/oauth/token",
                 "client_id": "onepane", "client_secret": SECRET, **auth},
        "entities": {"Customer": {"path": "/v1/contacts", "records": "data",
                                  "lookup": {"id": {"param": "ids"}},
                                  "id": {"path": "id"}, "keys": {"email": {"path": "email"}}}},
    }


async def test_concurrent_first_calls_share_one_token(tmp_path: Path) -> None:
    app = crm()
    async with serve(app) as base, source(tmp_path, options(base, scope="crm.read", audience="api://crm")) as api:
        found = await asyncio.gather(*(api.search("Customer", SearchRequest()) for _ in range(10)))
        again = await api.lookup("Customer", "id", ["1"])
    assert all(len(f) == 1 for f in found) and len(again) == 1
    (form,) = app[TOKENS]
    assert form == {"grant_type": "client_credentials", "scope": "crm.read", "audience": "api://crm",
                    "client_id": "onepane", "client_secret": SECRET}
    assert set(app[FLAGS]["seen"]) == {"tok-1"} and len(app[FLAGS]["seen"]) == 11


async def test_basic_client_auth(tmp_path: Path) -> None:
    app = crm()
    async with serve(app) as base, source(tmp_path, options(base, client_auth="basic")) as api:
        assert len(await api.search("Customer", SearchRequest())) == 1
    assert app[TOKENS][0]["client_id"] == "onepane"


async def test_token_refreshed_before_expiry(tmp_path: Path) -> None:
    app = crm()
    app[FLAGS]["expires_in"] = 1
    async with serve(app) as base, source(tmp_path, options(base, refresh_margin=0.9)) as api:
        await api.search("Customer", SearchRequest())
        await api.search("Customer", SearchRequest())  # within 0.1 s: the cached token
        await asyncio.sleep(0.15)
        await api.search("Customer", SearchRequest())
    assert len(app[TOKENS]) == 2
    assert app[FLAGS]["seen"] == ["tok-1", "tok-1", "tok-2"]


async def test_401_refreshes_once_and_repeats_once(tmp_path: Path) -> None:
    app = crm()
    async with serve(app) as base, source(tmp_path, options(base)) as api:
        await api.search("Customer", SearchRequest())
        app[FLAGS]["valid"].clear()  # the API revokes tok-1 before it expires
        assert len(await api.lookup("Customer", "id", ["1"])) == 1
        assert app[FLAGS]["seen"] == ["tok-1", "tok-2"]
        app[FLAGS]["valid"].clear()
        app[FLAGS]["revoke_new"] = True  # every token is refused: one refresh, one repeat, no loop
        with pytest.raises(SourceError, match=r"authentication failed \(HTTP 401\)"):
            await api.search("Customer", SearchRequest())
    contact_calls = [c for c in app[LOG] if c[1] == "/v1/contacts"]
    assert len(app[TOKENS]) == 3 and len(contact_calls) == 5  # 1, then 2, then 2 (one repeat)


async def test_refused_client_names_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = crm()
    async with serve(app) as base, source(tmp_path, options(base, client_secret="wr0ng-s3cret")) as api:
        with pytest.raises(SourceError) as caught:
            await api.search("Customer", SearchRequest())
        health = await api.health()
    message = str(caught.value)
    assert "HTTP 401 (invalid_client)" in message and "/oauth/token" in message
    assert not caught.value.retryable and not health.ok
    for text in (message, health.detail, caplog.text):
        assert "wr0ng" not in text and SECRET not in text
    assert [c for c in app[LOG] if c[1] == "/v1/contacts"] == []


async def test_token_endpoint_down_is_retryable(tmp_path: Path) -> None:
    app = crm()
    app[FLAGS]["token_down"] = True
    async with serve(app) as base, source(tmp_path, options(base)) as api:
        with pytest.raises(SourceUnavailable) as caught:
            await api.search("Customer", SearchRequest())
    assert caught.value.retry_after == 2 and "token endpoint" in str(caught.value)
