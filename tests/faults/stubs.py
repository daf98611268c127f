"""HTTP-level faults: an aiohttp stub in front of a real API that answers 503 to a share of calls."""

from __future__ import annotations

import random

import aiohttp
from aiohttp import web

__all__ = ["COUNTS", "flaky_http"]

COUNTS = web.AppKey("counts", dict[str, int])


async def flaky_http(upstream: str, failure_rate: float, seed: int = 30) -> tuple[web.AppRunner, str]:
    """Serve on 127.0.0.1: forwards to `upstream`, or 503 for `failure_rate` of requests (seeded)."""
    rng = random.Random(seed)
    session = aiohttp.ClientSession()
    counts = {"ok": 0, "503": 0}

    async def forward(request: web.Request) -> web.Response:
        if rng.random() < failure_rate:
            counts["503"] += 1
            return web.Response(status=503, text="busy")
        counts["ok"] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(request.method, upstream + request.path_qs, headers=headers,
                                   data=await request.read()) as resp:
            return web.Response(status=resp.status, body=await resp.read(), content_type=resp.content_type)

    async def close_session(app: web.Application) -> None:
        await session.close()

    app = web.Application()
    app[COUNTS] = counts
    app.router.add_route("*", "/{tail:.*}", forward)
    app.on_cleanup.append(close_session)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
