"""Identical compiled queries sent while one still waits on its first source call share its answer
(federation/api/fastpath.py, `gateway.coalesce_operations`); a query sent later runs itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from aiohttp import web

from federation.api.fastpath import FastPath
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app
from tests.integration.test_contract_graphql_benchmarks import LOG, build, upstream
from tests.integration.test_fastpath import PEER, _view

QUERY = "{posts{id,userId,title,user{id,name,email}}}"
HELD = web.AppKey("held", dict)


def _held_upstream() -> web.Application:
    """The benchmark upstream, where a path prefix in `app[HELD]` waits until its event is set."""
    posts, users = build()
    app = upstream(posts, users)

    @web.middleware
    async def hold(request: web.Request, handler: Any) -> web.StreamResponse:
        for prefix, gate in request.app[HELD].items():
            if request.path.startswith(prefix):
                await gate.wait()
        return await handler(request)

    app.middlewares.append(hold)
    app[HELD] = {}
    return app


@asynccontextmanager
async def _gateway(tmp_path: Path, base: str, coalesce: bool) -> AsyncIterator[tuple[web.Application, str]]:
    config = yaml.safe_load(PEER.read_text("utf-8"))
    config["gateway"]["coalesce_operations"] = coalesce
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    app = create_app(Gateway.from_config(load_config(path, {"UPSTREAM": base})))
    async with serve_app(app) as url:
        yield app, url + "/graphql"


async def _ask(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.post(url, data=orjson.dumps({"query": QUERY}),
                            headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        return await response.read()


async def _coalesced(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(url.removesuffix("/graphql") + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith('onepane_requests_coalesced_total{operation="anonymous"}'):
            return float(line.split()[-1])
    return 0.0


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting for the upstream")


@pytest.mark.parametrize("coalesce", [True, False], ids=["coalescing", "off"])
async def test_queries_sent_while_the_first_call_is_in_flight_share_one_answer(tmp_path: Path,
                                                                                coalesce: bool) -> None:
    data = _held_upstream()
    async with serve_app(data) as base, _gateway(tmp_path, base, coalesce) as (_, url), \
            aiohttp.ClientSession() as session:
        expected = await _ask(session, url)  # strawberry validates the document once
        assert await _ask(session, url) == expected  # now compiled
        before = await _coalesced(session, url)
        data[LOG].clear()
        gate = data[HELD]["/posts"] = asyncio.Event()
        answers = [asyncio.ensure_future(_ask(session, url)) for _ in range(20)]
        await _until(lambda: "/posts" in data[LOG])
        await asyncio.sleep(0.3)  # every request has reached the gateway
        gate.set()
        assert await asyncio.gather(*answers) == [expected] * 20
        calls = [c.split("?")[0] for c in data[LOG]]
        assert calls == ["/posts", "/users"]  # one call each for twenty requests either way
        assert await _coalesced(session, url) - before == (19 if coalesce else 0)


async def test_a_query_sent_after_the_first_call_answered_runs_itself(tmp_path: Path) -> None:
    data = _held_upstream()
    async with serve_app(data) as base, _gateway(tmp_path, base, True) as (_, url), \
            aiohttp.ClientSession() as session:
        expected = await _ask(session, url)
        await _ask(session, url)
        before = await _coalesced(session, url)
        data[LOG].clear()
        gate = data[HELD]["/users"] = asyncio.Event()
        first = asyncio.ensure_future(_ask(session, url))
        await _until(lambda: any(c.startswith("/users") for c in data[LOG]))  # its /posts has answered
        second = asyncio.ensure_future(_ask(session, url))
        await _until(lambda: [c for c in data[LOG] if c == "/posts"] == ["/posts"] * 2)  # asks /posts itself
        gate.set()
        assert [await first, await second] == [expected, expected]
        assert await _coalesced(session, url) == before


async def test_the_first_request_going_away_does_not_cancel_the_shared_answer(tmp_path: Path) -> None:
    data = _held_upstream()
    async with serve_app(data) as base, _gateway(tmp_path, base, True) as (app, url), \
            aiohttp.ClientSession() as session:
        expected = orjson.loads(await _ask(session, url))
        assert orjson.loads(await _ask(session, url)) == expected  # learned by the first, planned by this one
        fast = _view(app).fast
        assert isinstance(fast, FastPath)
        plan = next(p for (query, _, _), p in fast._plans.items() if query == QUERY)  # the role's plan
        assert plan is not None
        gate = data[HELD]["/posts"] = asyncio.Event()
        leader = asyncio.ensure_future(fast._run(plan, None, b""))
        await _until(lambda: "/posts" in data[LOG][-1:])
        joiner = asyncio.ensure_future(fast._run(plan, None, b""))
        await asyncio.sleep(0.05)
        leader.cancel()
        gate.set()
        response = await joiner
        assert response is not None and response.body is not None
        assert isinstance(response.body, bytes) and orjson.loads(response.body) == expected
        with pytest.raises(asyncio.CancelledError):
            await leader
