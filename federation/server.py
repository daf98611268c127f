"""The aiohttp application: /graphql, /healthz, /readyz; the gateway's lifecycle in one cleanup_ctx."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import orjson
from aiohttp import web
from strawberry.aiohttp.views import GraphQLView
from strawberry.extensions import ParserCache, ValidationCache

from federation.agents import setup_agents
from federation.analyst.sql_http import setup_sql
from federation.api.codes import with_codes
from federation.api.context import KEY
from federation.api.fastpath import FastPath, Learn
from federation.api.schema import build_schema
from federation.console import Documents, setup_console
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.errors import BAD_REQUEST
from federation.graphiql import graphiql_page, setup_graphiql
from federation.messages import cut
from federation.ops import metrics
from federation.security import PRINCIPAL, AuditSink
from federation.security.audit_db import open_audit
from federation.security.middleware import PRINCIPAL_KEY, security_middleware
from federation.security.ratelimit import Limiter, limiter_for

__all__ = ["GATEWAY", "create_app"]

log = logging.getLogger("federation.server")
GATEWAY = web.AppKey("gateway", Gateway)
AUDIT = web.AppKey[AuditSink | None]("audit")
MAX_BODY = 1024 * 1024
CONTEXT_KEY = web.RequestKey("graphql_context", dict)


class OnepaneView(GraphQLView):
    """Strawberry's aiohttp view with a fresh engine request per GraphQL request and orjson.

    With `fast`, a POSTed document strawberry has validated before and the compiled path can
    answer skips graphql-core's per-field execution (federation/api/fastpath.py).
    """

    def __init__(self, gateway: Gateway, fast: FastPath | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gateway = gateway
        self.fast = fast

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self.fast is not None and request.method == "POST" and request.content_type == "application/json":
            compiled = await self.fast.answer(request, request.get(PRINCIPAL_KEY))
            if compiled is not None:
                return compiled
        if request.method == "POST" and request.content_type == "application/json":
            problem = _body_problem(await request.read())
            if problem is not None:
                return _bad_request(problem)
        try:
            response: web.StreamResponse = await super().__call__(request)
        except UnicodeEncodeError:
            # Strawberry echoes a bad operationName or value into its plain-text 400; a lone surrogate
            # (`"\ud800"`) cannot be encoded, which used to surface as a 500 with a traceback.
            return _bad_request("the request holds text that is not valid Unicode (a lone surrogate)")
        finally:
            # graphql-core's execution context is a reference cycle (its async helpers are its own
            # bound methods) and holds this context: emptied, the request's engine state (every
            # record, unit and loader) is freed now instead of waiting for the cyclic collector.
            context = request.get(CONTEXT_KEY)
            if context is not None:
                context.clear()
        if response.status == 400 and isinstance(response, web.Response) and response.content_type == "text/plain":
            # Strawberry's own refusals (batching, unknown operation) are plain text: give them the
            # GraphQL error shape and a code, echoing at most 100 characters of what the caller sent.
            return _bad_request(cut(response.text or "bad request"))
        return response

    async def get_context(self, request: web.Request, response: Any) -> Any:
        context = request[CONTEXT_KEY] = {KEY: Request(self.gateway), PRINCIPAL: request.get(PRINCIPAL_KEY),
                                          "request": request, "response": response}
        return context

    async def process_result(self, request: web.Request, result: Any) -> Any:
        response = await super().process_result(request, result)
        with_codes(response.get("errors"))
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_page()  # no CDN: the IDE's files are served by this process (federation/graphiql)


def _body_problem(raw: bytes) -> str | None:
    """What makes a JSON POST body unfit for GraphQL-over-HTTP, or None when it is fit.

    Checked before strawberry sees it, so every such mistake is one coded 400 instead of a 500
    (non-UTF-8 bytes, nesting past orjson's depth limit) or a Python message in plain text.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "the body is not JSON (or nests deeper than 1,024 levels)"
    if isinstance(body, list):
        return "batched operations are not accepted: send one operation per request"
    if not isinstance(body, dict):
        return "the body must be a JSON object with a 'query'"
    for name, kind, label in (("query", str, "a string"), ("operationName", str, "a string"),
                              ("variables", dict, "an object"), ("extensions", dict, "an object")):
        value = body.get(name)
        if value is not None and not isinstance(value, kind):
            return f"'{name}' must be {label} or null"
    return None


def _bad_request(message: str) -> web.Response:
    """A 400 in the GraphQL error shape, with a code a client can branch on."""
    body = {"errors": [{"message": message, "extensions": {"code": BAD_REQUEST}}]}
    return web.Response(status=400, body=orjson.dumps(body), content_type="application/json")


def create_app(gateway: Gateway) -> web.Application:
    """Wire the gateway into an aiohttp app; connectors open at startup and close at cleanup."""
    security = gateway.config.security
    limit = security.rate_limit if security else None
    limiter = limiter_for(limit.rate, limit.burst, limit.shared, gateway.config.gateway.redis_url) if limit else None
    middlewares = [security_middleware(security, limiter)]
    if os.environ.get("ONEPANE_WORKER"):
        middlewares.insert(0, _worker_header(os.environ["ONEPANE_WORKER"]))
    app = web.Application(client_max_size=MAX_BODY, middlewares=middlewares)  # type: ignore[arg-type]
    app[GATEWAY] = gateway
    if limiter is not None:
        app.on_cleanup.append(partial(_close_limiter, limiter))
    audit = open_audit(security.audit, gateway.config.file.parent.resolve()) if security and security.audit else None
    app[AUDIT] = audit
    schema = build_schema(gateway.model, security, audit, config_file=str(gateway.config.file))
    compiled = gateway.config.gateway.compiled_plans
    fast = FastPath(gateway, schema._schema, schema.model_types, security, audit) if compiled else None
    # Parse and validation results are kept per document text (validation per rule set, so per role).
    learn = [partial(Learn, fast)] if fast is not None else []
    schema.extensions = (*schema.extensions, ParserCache, ValidationCache, *learn)
    graphiql = "graphiql" if gateway.config.gateway.graphiql else None
    view = OnepaneView(gateway, fast, schema=schema, graphql_ide=graphiql)
    app.router.add_route("*", "/graphql", view)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    # The console's and the MCP tools' documents, generated from the model for every role and
    # registered with the persisted-query allow-list (federation/console/documents.py).
    documents = Documents(gateway.model, schema._schema, security, schema.registered_documents)
    setup_console(app, documents, _source_words(gateway))
    setup_graphiql(app)
    app.router.add_get("/metrics", _metrics)
    setup_sql(app, gateway, schema)  # /sql: the same schema, so the same roles, masks, limits and audit
    app.cleanup_ctx.append(_lifecycle)
    setup_agents(app, gateway, schema, documents)  # /mcp; after _lifecycle so it stops before the gateway closes
    return app


def _source_words(gateway: Gateway) -> dict[str, Any]:
    """What an agent reads about each source: its description and the entities it holds."""
    out: dict[str, Any] = {}
    for name, settings in gateway.config.sources.items():
        entities = settings.options.get("entities")
        out[name] = {"label": settings.description or name,
                     "entities": sorted(entities) if isinstance(entities, dict) else []}
    return out


async def _close_limiter(limiter: Limiter, _app: web.Application) -> None:
    await limiter.close()


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    gateway = app[GATEWAY]
    _warn_open_access(gateway)
    await gateway.start()
    log.info("gateway started with sources: %s", ", ".join(gateway.connectors))
    flushing = asyncio.create_task(_flush_metrics())
    yield
    flushing.cancel()
    metrics.TALLY.flush()
    await gateway.close()
    audit = app[AUDIT]
    if audit is not None:
        await audit.aclose()


def _warn_open_access(gateway: Gateway) -> None:
    security = gateway.config.security
    if security is None:
        log.error("no security section in %s: every request is refused (401); declare api_keys or jwt with "
                  "roles, or anonymous_role for open access (see docs/security.md)", gateway.config.file)
    elif security.anonymous_role:
        log.warning("anonymous access is on: requests without credentials get role '%s'", security.anonymous_role)


async def _flush_metrics() -> None:
    """Hand this process's request tally to Prometheus every second (federation/ops/metrics.py):
    with several workers, a scrape is answered by one of them and reads the others' shared files."""
    while True:
        await asyncio.sleep(1.0)
        metrics.TALLY.flush()


async def _healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. Sources are not probed here."""
    return web.json_response({"status": "ok"})


def _worker_header(number: str) -> Any:
    """Which worker answered (`X-Onepane-Worker`), when several share the port."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        response.headers["X-Onepane-Worker"] = number
        return response

    return middleware


_BREAKER_LEVEL = {"closed": 0, "half_open": 1, "open": 2}


async def _metrics(request: web.Request) -> web.Response:
    """Prometheus text format; summed over every worker process."""
    for source, guard in request.app[GATEWAY].guards.items():
        metrics.BREAKER_STATE.labels(source).set(_BREAKER_LEVEL.get(str(guard.breaker.state), 0))
        metrics.IN_FLIGHT.labels(source).set(guard.bulkhead.active)
        metrics.QUEUED.labels(source).set(guard.bulkhead.waiting)
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})


async def _readyz(request: web.Request) -> web.Response:
    """Readiness per source with its breaker (state, recent error rate); 503 when none can serve,
    or when any source answers but cannot serve what its mapping reads."""
    health = await request.app[GATEWAY].health()
    # A source started with a mapping that does not match it (`serve --allow-degraded`), or whose
    # mapped table or column has since gone, is a config fault no retry fixes: the gateway is not
    # ready until the config (or the source) is. A source merely unreachable is a passing fault.
    ready = not request.app[GATEWAY].degraded and not any(h["mappingFault"] for h in health.values()) and any(
        h["ok"] and h["breaker"]["state"] != "open" for h in health.values())
    body: dict[str, object] = {"status": "ready" if ready else "unavailable", "sources": health}
    stale = [name for name, h in health.items() if h.get("pastMaxAge")]
    if stale:  # serving, but from copies older than their max_age (docs/connectors/files.md)
        body["stale"] = stale
    if request.app[GATEWAY].identity_warnings:  # `serve --allow-degraded` without a usable identity model
        body["warnings"] = list(request.app[GATEWAY].identity_warnings.values())
    return web.json_response(body, status=200 if ready else 503, dumps=lambda o: orjson.dumps(o).decode())
