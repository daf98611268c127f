"""`federation sql "SELECT …"`: against a running gateway's /sql, or a config in this process."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn

from federation.analyst.errors import SqlProblem
from federation.analyst.query import _LocalRunner
from federation.analyst.sql import SqlAnswer, run_sql, table_listing
from federation.analyst.sql_http import limits
from federation.analyst.sql_output import write_answer
from federation.analyst.sql_plan import plan_for
from federation.errors import INTERNAL

__all__ = ["main_sql"]


def main_sql(statement: str | None, file: Path | None, config: Path | None, url: str | None, fmt: str,
             output: Path | None, bom: bool, max_rows: int | None, timeout: float | None, tables: bool) -> int:
    """Exit 0 complete, 3 partial (a source failed or values could not be read), 2 failed."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        sql = file.read_text("utf-8") if file is not None else statement
        if not tables and not (sql or "").strip():
            raise ValueError("give a statement: federation sql \"SELECT …\" (or -f FILE.sql, or --tables)")
        if fmt == "parquet" and output is None:
            raise ValueError("--format parquet: give --output FILE.parquet")
        if config is not None:
            answer = asyncio.run(_local(config, sql or "", max_rows, timeout, tables, err))
        else:
            answer = asyncio.run(_remote(url or "http://127.0.0.1:8000/sql", sql or "", max_rows, timeout, tables))
    except SqlProblem as problem:
        err.print(f"[red]{problem.code}[/red] {escape(problem.message)}", highlight=False)
        return 2
    except (OSError, ValueError, RuntimeError, aiohttp.ClientError) as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        return 2
    if answer is None:  # --tables
        return 0
    write_answer(answer, fmt, sys.stdout if output is None else None, output, bom)
    return _report(answer, err)


async def _local(config: Path, sql: str, max_rows: int | None, timeout: float | None, tables: bool,
                 err: Console) -> SqlAnswer | None:
    async with _LocalRunner(config, None) as runner:
        gateway = runner.gateway
        plan = plan_for(runner.schema._schema, gateway.config.model, gateway.config.security, runner.principal.role)
        if tables:
            sys.stdout.write(table_listing(plan) + "\n")
            return None
        settings = gateway.config.gateway.sql
        rows, seconds = limits(settings, max_rows, timeout)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True,
                      disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("fetching", total=None)
            return await run_sql(sql, plan, runner, rows, seconds, settings.memory_limit,
                                 lambda text: progress.update(task, description=f"fetched {text}"))


async def _remote(url: str, sql: str, max_rows: int | None, timeout: float | None, tables: bool) -> SqlAnswer | None:
    headers = {"X-Api-Key": os.environ["ONEPANE_API_KEY"]} if os.environ.get("ONEPANE_API_KEY") else {}
    if token := os.environ.get("ONEPANE_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    if tables:
        async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
                    session.get(f"{url}/tables", headers=headers) as response):
            if response.status != 200:
                raise RuntimeError(f"{url}/tables answered HTTP {response.status}")
            listing = orjson.loads(await response.read())["tables"]
        for name, columns in listing.items():
            described = ", ".join(f"{c['name']} {c['type']}" for c in columns)
            sys.stdout.write(f"  {name}({described})\n")
        return None
    payload: dict[str, Any] = {"sql": sql}
    if max_rows is not None:
        payload["maxRows"] = max_rows
    if timeout is not None:
        payload["timeoutSeconds"] = timeout
    async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=(timeout or 600) + 30)) as session,
                session.post(url, json=payload, headers=headers) as response):
        raw = await response.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise RuntimeError(f"{url} answered HTTP {response.status} without JSON") from None
    if body.get("errors") and "rows" not in body:
        error = body["errors"][0]
        raise SqlProblem(error.get("message", f"HTTP {response.status}"),
                         (error.get("extensions") or {}).get("code", INTERNAL))
    return SqlAnswer([(c["name"], c["type"]) for c in body["columns"]], [tuple(r) for r in body["rows"]],
                     body["truncated"], body.get("fetched", {}), body.get("unreadable", 0), body.get("errors", []),
                     body.get("seconds", 0.0), body.get("unreadableNotes", []), body.get("pushed", {}))


def _report(answer: SqlAnswer, err: Console) -> int:
    fetched = ", ".join(f"{name} {count:,}" for name, count in answer.fetched.items()) or "no table"
    pushed = "; ".join(f"{t} where {orjson.dumps(f).decode()}" for t, f in answer.pushed.items())
    err.print(f"{len(answer.rows):,} row(s) in {answer.seconds:.2f} s (read {fetched}"
              f"{'; asked the sources for ' + escape(pushed) if pushed else ''})", highlight=False)
    if answer.truncated:
        err.print("[yellow]truncated[/yellow]: more rows than --max-rows; raise it or aggregate", highlight=False)
    for error in answer.errors:
        err.print(f"[yellow]incomplete[/yellow]: {escape(str(error.get('code')))} {escape(str(error.get('message')))}",
                  highlight=False)
    if answer.unreadable:
        err.print(f"[yellow]incomplete[/yellow]: {answer.unreadable} value(s) a source could not read are empty",
                  highlight=False)
        for note in answer.notes:
            err.print(f"  {escape(note)}", highlight=False)
    return 3 if answer.partial else 0
