"""`POST /sql`: one SQL statement over the unified tables, under the caller's credentials and role.

Body: `{"sql": "SELECT …", "maxRows": 10000, "timeoutSeconds": 60}` (both limits optional and
capped by `gateway.sql`). Answer: `{"columns": [{"name", "type"}], "rows": [[…]], "truncated",
"fetched": {table: rows}, "unreadable", "errors", "seconds"}`, or with `Accept: text/csv` the
rows as CSV. `GET /sql/tables` lists the caller's tables and columns. A statement that cannot
run is a 400 with `errors[0].extensions.code` (`BAD_SQL`, `SQL_REFUSED`, `SQL_TIMEOUT`) and,
for unknown names, the role's tables.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from federation.analyst.errors import SqlProblem
from federation.config.models import SqlSettings
from federation.errors import BAD_REQUEST
from federation.messages import cut
from federation.security.middleware import PRINCIPAL_KEY

__all__ = ["limits", "setup_sql"]


def limits(settings: SqlSettings, rows: Any, seconds: Any) -> tuple[int, float]:
    """The caller's limits, defaulted and checked against the configured maximums."""
    if rows is None:
        rows = settings.default_rows
    if seconds is None:
        seconds = settings.default_seconds
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= settings.max_rows:
        raise SqlProblem(f"maxRows: give a whole number from 1 to {settings.max_rows:,}")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= settings.max_seconds:
        raise SqlProblem(f"timeoutSeconds: give a number of seconds above 0 and at most {settings.max_seconds:g}")
    return rows, float(seconds)


def answer_json(answer: Any) -> dict[str, Any]:
    from federation.analyst.sql_output import cell

    return {"columns": [{"name": n, "type": t} for n, t in answer.columns],
            "rows": [[cell(v) for v in row] for row in answer.rows], "truncated": answer.truncated,
            "fetched": answer.fetched, "unreadable": answer.unreadable, "unreadableNotes": answer.notes,
            "pushed": answer.pushed,
            "errors": answer.errors,
            "seconds": round(answer.seconds, 3)}


def setup_sql(app: web.Application, gateway: Any, schema: Any) -> None:
    model, security = gateway.config.model, gateway.config.security
    settings: SqlSettings = gateway.config.gateway.sql
    plans: dict[str, Any] = {}  # per role: the schema and policy are fixed for the app's life

    def plan_of(principal: Any) -> Any:
        from federation.analyst.sql_plan import plan_for

        role = principal.role if principal else "*"
        if role not in plans:
            plans[role] = plan_for(schema._schema, model, security, role)
        return plans[role]

    async def handle(request: web.Request) -> web.StreamResponse:
        # DuckDB and Arrow load on the first statement, not at every worker's start.
        from federation.analyst.query import SchemaRunner
        from federation.analyst.sql import run_sql
        from federation.analyst.sql_output import csv_text

        principal = request.get(PRINCIPAL_KEY)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _problem(SqlProblem("the body must be JSON: {\"sql\": \"SELECT …\"}", BAD_REQUEST))
        if not isinstance(body, dict) or not isinstance(body.get("sql"), str) or not body["sql"].strip():
            return _problem(SqlProblem("the body must be a JSON object with a non-empty 'sql' string", BAD_REQUEST))
        try:
            rows, seconds = limits(settings, body.get("maxRows"), body.get("timeoutSeconds"))
            plan = plan_of(principal)
            answer = await run_sql(body["sql"], plan, SchemaRunner(schema, gateway, principal), rows, seconds,
                                   settings.memory_limit)
        except SqlProblem as problem:
            return _problem(problem)
        if "text/csv" in request.headers.get("Accept", ""):
            return web.Response(text=csv_text(answer), content_type="text/csv", charset="utf-8",
                                headers={"X-Onepane-Partial": "true" if answer.partial else "false"})
        return web.Response(body=orjson.dumps(answer_json(answer)), content_type="application/json")

    async def tables(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL_KEY)
        plan = plan_of(principal)
        listing = {t.name: [{"name": c.name, "type": c.sql_type} for c in t.columns] for t in plan.tables.values()}
        return web.Response(body=orjson.dumps({"tables": listing}), content_type="application/json")

    app.router.add_post("/sql", handle)
    app.router.add_get("/sql/tables", tables)


def _problem(problem: SqlProblem) -> web.Response:
    body = {"errors": [{"message": cut(problem.message, 4000), "extensions": {"code": problem.code}}]}
    return web.Response(status=400, body=orjson.dumps(body), content_type="application/json")
