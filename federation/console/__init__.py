"""The agent console: three static files served at /console; the page speaks only GraphQL to /graphql.

The files hold no data, so they are public (no credentials needed to load the page). The page
asks GET /console/document (authenticated like /graphql) for the documents generated from the
served model for the caller's role (federation/console/documents.py), and every query it sends
goes through /graphql and its authentication, roles, masking, limits and audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from typing import Any

from aiohttp import web

from federation.console.documents import Documents
from federation.security.middleware import PRINCIPAL_KEY, PUBLIC_ROUTE

__all__ = ["Documents", "setup_console"]

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


def setup_console(app: web.Application, documents: Documents | None = None,
                  sources: Mapping[str, Any] | None = None) -> None:
    """Serve the console at /console/ and let its static files past authentication (not /graphql).

    `sources`: per source, the words an agent reads ({"label": its description, "entities": [...]})."""
    app.router.add_get("/console", _redirect, name=f"{ROUTE_PREFIX}redirect")
    if documents is not None:
        app.router.add_get("/console/document", _document(documents, dict(sources or {})))
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


def _document(documents: Documents, sources: dict[str, Any]) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL_KEY)
        built = documents.for_role(principal.role if principal is not None else None)
        if built is None:
            raise web.HTTPForbidden(text='{"errors": [{"message": "no console documents for your role"}]}',
                                    content_type="application/json")
        return web.json_response(built.public(sources), headers={**HEADERS, "Cache-Control": "no-store"})

    return serve
