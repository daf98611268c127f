"""A request's engine objects are freed by reference counting when it ends, on both execution paths.

Nothing a request builds (its fetcher, loaders, records, units, stats) may sit in a reference
cycle: cyclic garbage waits for the collector, whose youngest generation runs every 20,000
allocations in a server (federation/workers.py), and under load the requests in flight when it
runs are promoted with it and pile up in the older generations. That was a c360 worker's RSS
growing from ~150 MB past 200 MB within two minutes (docs/benchmarks.md, "Every core"): the
fetcher's batch loaders and the relator's load functions held closures over their owner, and
graphql-core's execution context (a cycle of its own) held the strawberry path's whole request.

Each test sends distinct requests with the collector off, then collects with DEBUG_SAVEALL and
asserts that no unreachable object belongs to Onepane (federation or connectors).
"""

from __future__ import annotations

import gc
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

from federation.api.fastpath import FastPath
from federation.config import load_config
from federation.demo.crm import serve_crm
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.engine.gateway import Gateway
from federation.server import OnepaneView, create_app
from tests.conftest import serve_app

STORIES = Path(__file__).resolve().parents[2] / "federation" / "demo" / "queries"
BY_EMAIL = ("query C($e: String!) { customers(email: $e) { id name emails phones "
            "purchases { orderNumber channel total { amount currency } placedAt } } }")
# Each request a different customer, as typed by people (spaces, capitals), and one nobody is.
EMAILS = [" Ann.Lee@Example.COM ", "jose.garcia@example.org", "ANNIE77@example.net", "nobody@example.com"]


def _view(app: web.Application) -> OnepaneView:
    return next(r.handler for r in app.router.routes() if isinstance(r.handler, OnepaneView))


@asynccontextmanager
async def _demo(tmp_path: Path, crm_up: bool = True) -> AsyncIterator[tuple[web.Application, str]]:
    files = build_demo(tmp_path)
    config = tmp_path / "demo.yaml"
    config.write_text(demo_config_text(), "utf-8")
    key = secrets.token_urlsafe(18)
    crm, port = await serve_crm(files.crm, key, host="127.0.0.1", port=0)
    if not crm_up:
        await crm.cleanup()  # the port is known and refuses connections: the source is down
    env = {"ONEPANE_CRM_URL": f"http://127.0.0.1:{port}", "ONEPANE_CRM_API_KEY": key}
    app = create_app(Gateway.from_config(load_config(config, env)))
    try:
        async with serve_app(app) as url:
            yield app, url + "/graphql"
    finally:
        if crm_up:
            await crm.cleanup()


async def _ask(session: aiohttp.ClientSession, url: str, query: str, variables: dict[str, str] | None = None) -> None:
    body = orjson.dumps({"query": query, "variables": variables or {}})
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200, await response.text()
        assert orjson.loads(await response.read()).get("data"), "no data"


async def _requests(session: aiohttp.ClientSession, url: str, stories: bool) -> None:
    for email in EMAILS:
        await _ask(session, url, BY_EMAIL, {"e": email})
    for path in sorted(STORIES.glob("*.graphql")) if stories else ():
        await _ask(session, url, path.read_text("utf-8"))


async def _onepane_garbage(session: aiohttp.ClientSession, url: str, stories: bool) -> Counter[str]:
    """Onepane's objects that distinct requests left unreachable but not freed (in cycles)."""
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            await _requests(session, url, stories)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return Counter(type(o).__qualname__ for o in gc.garbage
                       if type(o).__module__.startswith(("federation.", "connectors.")))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_compiled_requests_leave_no_cycles(tmp_path: Path) -> None:
    async with _demo(tmp_path) as (app, url), aiohttp.ClientSession() as session:
        fast = _view(app).fast
        assert isinstance(fast, FastPath)
        await _requests(session, url, stories=False)  # the plan learnt, pools and connections open
        before = fast.answered
        garbage = await _onepane_garbage(session, url, stories=False)
        assert fast.answered - before == 3 * len(EMAILS), "the compiled path did not answer"
    assert not garbage, f"left in reference cycles: {dict(garbage)}"


async def test_strawberry_requests_leave_no_onepane_cycles(tmp_path: Path) -> None:
    """graphql-core's execution context stays a cycle of its own; nothing of Onepane's hangs off it."""
    async with _demo(tmp_path) as (app, url), aiohttp.ClientSession() as session:
        _view(app).fast = None
        await _requests(session, url, stories=True)
        garbage = await _onepane_garbage(session, url, stories=True)
    assert not garbage, f"left in reference cycles: {dict(garbage)}"


async def test_requests_with_a_source_down_leave_no_cycles(tmp_path: Path) -> None:
    """A failed call's error is kept in the request's stats: it must not hold the request in a cycle."""
    async with _demo(tmp_path, crm_up=False) as (_app, url), aiohttp.ClientSession() as session:
        await _requests(session, url, stories=False)
        garbage = await _onepane_garbage(session, url, stories=False)
    assert not garbage, f"left in reference cycles: {dict(garbage)}"
