"""AI agents: a Model Context Protocol endpoint at /mcp (Streamable HTTP) with four approved tools.

/mcp sits behind the same security middleware as /graphql (API key or bearer token, rate limit),
and every tool runs one persisted document through the same schema, so roles, masks, limits and
audit apply exactly as they do for GraphQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from aiohttp import web
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from strawberry import Schema

from federation.agents.bridge import asgi_handler
from federation.agents.tools import DOCUMENTS, PRINCIPAL_SCOPE, ToolRunner, build_server
from federation.console.documents import Documents
from federation.engine.gateway import Gateway
from federation.security.middleware import PRINCIPAL_KEY

__all__ = ["DOCUMENTS", "PATH", "setup_agents"]

PATH = "/mcp"


def setup_agents(app: web.Application, gateway: Gateway, schema: Schema, documents: Documents | None = None) -> None:
    """Serve the MCP endpoint at /mcp; its session manager runs while the app does."""
    server = build_server(ToolRunner(gateway, schema, documents))
    # Stateless with JSON answers: each POST is authenticated and answered on its own, so any worker
    # behind a shared port can serve it and no session outlives the credentials that opened it.
    # DNS-rebinding checks are off because every request must carry a key or token (no cookies);
    # a Host allow-list belongs to the deployment's proxy, as it does for /graphql.
    asgi = server.streamable_http_app(
        streamable_http_path=PATH, json_response=True, stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
    app.router.add_route("*", PATH, asgi_handler(asgi, _scope_extra))
    app.cleanup_ctx.append(partial(_session_manager, server))


def _scope_extra(request: web.Request) -> dict[str, Any]:
    return {PRINCIPAL_SCOPE: request.get(PRINCIPAL_KEY)}


async def _session_manager(server: MCPServer, app: web.Application) -> AsyncIterator[None]:
    """The SDK's session manager holds an anyio task group; it runs in a task of its own so that it is
    entered and left in the same task, whichever tasks aiohttp starts up and cleans up in."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with server.session_manager.run():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run(), name="onepane-mcp")
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raise the start-up failure
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task
