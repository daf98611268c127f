"""A small aiohttp → ASGI adapter: one aiohttp request becomes one ASGI `http` call.

The MCP SDK's Streamable HTTP transport is an ASGI app, while the gateway is aiohttp. Rather than
a second server on another port (a second place to authenticate) or a general adapter package
(the maintained ones target aiohttp 3.8 or WSGI), this module does the part we need: build the
scope, hand over the body aiohttp already read (so `client_max_size` still bounds it), and turn
the ASGI response into an aiohttp one — buffered when it arrives in one piece, so middlewares can
still add headers, streamed chunk by chunk when it does not (SSE). The request has passed the
security middleware already; the authenticated principal travels in the scope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aiohttp import web

__all__ = ["ASGIApp", "asgi_handler"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def _scope(request: web.Request, extra: dict[str, Any]) -> Scope:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    server = tuple(sockname[:2]) if isinstance(sockname, tuple) else None
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode(),
        "root_path": "",
        "query_string": request.query_string.encode(),
        "headers": [(k.lower(), v) for k, v in request.raw_headers],
        "client": (request.remote, 0) if request.remote else None,
        "server": server,
        "state": {},
        **extra,
    }


class _Exchange:
    """The ASGI receive/send pair for one request, and the aiohttp response they build."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self.request, self.body = request, body
        self.sent_body = False
        self.done = asyncio.Event()
        self.start: Message | None = None
        self.stream: web.StreamResponse | None = None
        self.response: web.StreamResponse | None = None

    async def receive(self) -> Message:
        if not self.sent_body:
            self.sent_body = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.done.wait()  # the app listens for a disconnect: report one once the exchange is over
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            await self._body(bytes(message.get("body", b"")), bool(message.get("more_body", False)))

    async def _body(self, chunk: bytes, more: bool) -> None:
        if self.start is None:
            raise RuntimeError("ASGI app sent a body before http.response.start")
        if self.stream is None and not more:
            self.response = web.Response(status=self.start["status"], body=chunk, headers=self._headers())
            return
        if self.stream is None:
            self.stream = web.StreamResponse(status=self.start["status"], headers=self._headers())
            self.response = self.stream
            await self.stream.prepare(self.request)
        if chunk:
            await self.stream.write(chunk)
        if not more:
            await self.stream.write_eof()

    def _headers(self) -> list[tuple[str, str]]:
        assert self.start is not None
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.start.get("headers", ())
                if k.lower() not in (b"content-length", b"transfer-encoding")]


def asgi_handler(app: ASGIApp, scope_extra: Callable[[web.Request], dict[str, Any]]) -> Callable[
        [web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler running `app` for each request; `scope_extra` adds keys to the scope."""

    async def handle(request: web.Request) -> web.StreamResponse:
        exchange = _Exchange(request, await request.read())
        try:
            await app(_scope(request, scope_extra(request)), exchange.receive, exchange.send)
        finally:
            exchange.done.set()
        if exchange.response is None:
            raise web.HTTPInternalServerError(text="the MCP endpoint sent no response")
        return exchange.response

    return handle
