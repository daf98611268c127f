"""aiohttp middleware: authenticate every /graphql request, then rate-limit per principal."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from federation.errors import RATE_LIMITED, UNAUTHENTICATED
from federation.security.auth import Authenticator, AuthError, Principal
from federation.security.ratelimit import Limiter
from federation.security.settings import SecuritySettings

__all__ = ["PRINCIPAL_KEY", "PUBLIC_ROUTE", "security_middleware"]

log = logging.getLogger("federation.security")
PRINCIPAL_KEY = web.RequestKey("principal", Principal)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Routes named with this prefix serve no data and need no credentials (the console's static files):
# one check here rather than a middleware of their own in front of every request.
PUBLIC_ROUTE = "public:"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def security_middleware(settings: SecuritySettings | None, limiter: Limiter | None = None) -> Middleware:
    """Without a `security:` section every request is refused: access is never open by accident.
    `limiter` holds the rate limit's buckets (`security.rate_limit`), per process or shared."""
    authenticator = Authenticator(settings) if settings else None
    roles = set(settings.roles) if settings else set()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        route = request.match_info.route.name
        if route is not None and route.startswith(PUBLIC_ROUTE):
            return await handler(request)
        if authenticator is None:
            return _error(401, UNAUTHENTICATED, "unauthorized", {"WWW-Authenticate": 'Bearer realm="onepane"'})
        try:
            principal = authenticator.authenticate(request.headers)
            if principal.role not in roles:
                raise AuthError
        except AuthError:
            # One uniform answer: nothing tells an attacker which part was wrong.
            log.info("rejected unauthenticated request from %s", request.remote)
            return _error(401, UNAUTHENTICATED, "unauthorized", {"WWW-Authenticate": 'Bearer realm="onepane"'})
        if limiter is not None:
            wait = await limiter.take(f"{principal.kind}:{principal.name}")
            if wait > 0:
                return _error(429, RATE_LIMITED, "too many requests", {"Retry-After": str(math.ceil(wait))})
        request[PRINCIPAL_KEY] = principal
        return await handler(request)

    return middleware
