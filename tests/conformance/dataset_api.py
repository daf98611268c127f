"""The kit's dataset behind a real HTTP API on loopback, in its own thread and event loop.

It answers as list endpoints of JSON APIs commonly do: `GET /customers?id=C1,C2` (comma lists),
`?email=` compared ignoring case and spaces, equality filters, `placed_from`/`placed_to` date
bounds, `name_prefix`, and offset paging (`offset`, `limit`) with a `total`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

from aiohttp import web

from connectors.sdk.testing import TABLES, SourceCalls, json_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Stall:
    """While held, the server answers no request (each waits until the stall ends)."""

    def __init__(self) -> None:
        self.on = False

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False

    async def wait(self) -> None:
        while self.on:
            await asyncio.sleep(0.02)


def _same(stored: Any, asked: str) -> bool:
    return stored is not None and str(stored).strip().casefold() == asked.strip().casefold()


def _keep(row: dict[str, Any], name: str, value: str) -> bool:
    if name in ("placed_from", "placed_to"):
        when = datetime.fromisoformat(row["placed_at"])
        bound = datetime.fromisoformat(value)
        return when >= bound if name == "placed_from" else when <= bound
    if name == "name_prefix":
        return str(row.get("name") or "").casefold().startswith(value.casefold())
    if name in row:
        return any(_same(row[name], part) for part in value.split(","))
    raise web.HTTPBadRequest(text=f"unknown parameter '{name}'")


def dataset_app(calls: SourceCalls, stall: Stall | None = None) -> web.Application:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls.hit()
        if stall is not None:
            await stall.wait()
        return await handler(request)

    def endpoint(entity: str) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            rows = json_body(entity)
            for name, value in request.query.items():
                if name not in ("offset", "limit"):
                    rows = [r for r in rows if _keep(r, name, value)]
            offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 100))
            return web.json_response({"total": len(rows), "data": rows[offset:offset + limit]})

        return handle

    async def root(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[count])
    app.router.add_get("/", root)
    for entity, table in TABLES.items():
        app.router.add_get(f"/{table}", endpoint(entity))
    return app


@contextmanager
def serve_dataset(calls: SourceCalls, stall: Stall | None = None) -> Iterator[str]:
    """Serve the dataset API on 127.0.0.1 at a free port until the block ends; its base URL."""
    with serve_dataset_app(dataset_app(calls, stall)) as url:
        yield url


@contextmanager
def serve_dataset_app(app: web.Application) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 at a free port from its own thread and loop (the suite's tests
    each run in a loop of their own); its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
