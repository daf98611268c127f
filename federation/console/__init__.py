"""The agent console: three static files served at /console; the page speaks only GraphQL to /graphql.

The files hold no data, so they are public (no credentials needed to load the page); every query
the page sends goes through /graphql and its authentication, roles, masking, limits and audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from aiohttp import web

from federation.security.middleware import PUBLIC_ROUTE

__all__ = ["setup_console"]

FILES = {"index.html": "text/html", "console.js": "text/javascript", "console.css": "text/css"}
ROUTE_PREFIX = f"{PUBLIC_ROUTE}console:"  # no credentials to load the page (federation/security/middleware.py)
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Only this origin: no CDN, no inline script, no framing.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self' data:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_console(app: web.Application) -> None:
    """Serve the console at /console/ and let its static files past authentication (not /graphql)."""
    app.router.add_get("/console", _redirect, name=f"{ROUTE_PREFIX}redirect")
    app.router.add_get("/console/", _file("index.html"), name=f"{ROUTE_PREFIX}index")
    for name in FILES:
        app.router.add_get(f"/console/{name}", _file(name), name=f"{ROUTE_PREFIX}{name}")


async def _redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("console/")  # relative: works behind a path prefix too


def _file(name: str) -> Handler:
    body = resources.files(__name__).joinpath(name).read_bytes()

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type=FILES[name], charset="utf-8", headers=HEADERS)

    return serve
