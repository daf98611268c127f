"""`federation query FILE.graphql`: run a document against a gateway URL or a config in-process,
follow `pageInfo` pages, and print JSON, CSV or a table."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from graphql import OperationDefinitionNode, parse
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from federation.analyst.tabular import find_rows, flatten, to_csv
from federation.errors import SOURCE_DATA_ERROR, SOURCE_DOWN

__all__ = ["Answer", "SchemaRunner", "main_query", "parse_vars"]

MAX_PAGES = 10_000


@dataclass
class Answer:
    """Every page of one query: the rows, the first page's data, every error and source report."""

    data: Any = None
    rows_path: str = ""
    rows: list[Any] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)
    pages: int = 0


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """`k=v` pairs; a value that is JSON (numbers, true, {"a":1}) is decoded, otherwise a string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--var {pair!r}: write name=value")
        try:
            out[name] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            out[name] = raw
    return out


def _paged(document: str) -> bool:
    """True when the operation declares `$after`: the runner then follows pageInfo.endCursor."""
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            return any(v.variable.name.value == "after" for v in definition.variable_definitions or ())
    return False


def _page_info(data: Any, rows_path: str) -> Mapping[str, Any] | None:
    parent = data
    for part in rows_path.split(".")[:-1]:
        parent = parent.get(part) if isinstance(parent, Mapping) else None
    info = parent.get("pageInfo") if isinstance(parent, Mapping) else None
    return info if isinstance(info, Mapping) else None


class _HttpRunner:
    def __init__(self, url: str, api_key: str | None) -> None:
        self.url = url
        self.headers = {"X-Api-Key": api_key} if api_key else {}

    async def __aenter__(self) -> _HttpRunner:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.url, json={"query": document, "variables": variables},
                                     headers=self.headers) as response:
            body = await response.read()
            try:
                result: dict[str, Any] = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise RuntimeError(f"{self.url} answered HTTP {response.status} without JSON") from None
            if response.status != 200 and "errors" not in result:
                raise RuntimeError(f"{self.url} answered HTTP {response.status}")
            return result


class _LocalRunner:
    """The gateway in this process, over a config file, under one of its roles."""

    def __init__(self, config_path: Path, role: str | None) -> None:
        self.config_path, self.role = config_path, role

    async def __aenter__(self) -> _LocalRunner:
        from federation.api.schema import build_schema
        from federation.config import load_config
        from federation.engine.gateway import Gateway
        from federation.security import Principal
        from federation.security.audit_db import open_audit
        from federation.security.auth import Authenticator, AuthError

        config = load_config(self.config_path)
        security = config.security
        self.principal = Principal("cli", self.role or "*", "cli")
        self.audit = None
        if security is not None:
            # Like any caller: the role comes from a credential in the environment, never from
            # a free choice on the command line (--role only says which one is expected).
            headers = {"X-Api-Key": os.environ.get("ONEPANE_API_KEY", "")}
            if token := os.environ.get("ONEPANE_TOKEN"):
                headers["Authorization"] = f"Bearer {token}"
            try:
                self.principal = Authenticator(security).authenticate(headers)
            except AuthError:
                raise ValueError("--config: set ONEPANE_API_KEY (or ONEPANE_TOKEN) to a credential the "
                                 "config's security section accepts") from None
            if self.role is not None and self.role != self.principal.role:
                raise ValueError(f"--role {self.role}: your credential's role is {self.principal.role}")
            if security.audit is not None:
                self.audit = open_audit(security.audit, config.file.parent.resolve())
        self.gateway = Gateway.from_config(config)
        self.schema = build_schema(config.model, security, self.audit, config_file=str(config.file))
        await self.gateway.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.gateway.close()
        if self.audit is not None:
            await self.audit.aclose()

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await SchemaRunner(self.schema, self.gateway, self.principal).run(document, variables)


class SchemaRunner:
    """One document on a gateway's own schema, for one principal, as /graphql would run it."""

    def __init__(self, schema: Any, gateway: Any, principal: Any) -> None:
        self.schema, self.gateway, self.principal = schema, gateway, principal

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        from federation.api.context import KEY
        from federation.engine.request import Request
        from federation.security import PRINCIPAL

        result = await self.schema.execute(document, variables, context_value={KEY: Request(self.gateway),
                                                                               PRINCIPAL: self.principal})
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        if result.extensions:
            out["extensions"] = result.extensions
        return out


async def collect(runner: Any, document: str, variables: dict[str, Any], progress: Progress | None) -> Answer:
    """Run the document, following pages while the operation takes `$after` and there are more."""
    answer = Answer()
    follow = _paged(document)
    task = progress.add_task("fetching pages", total=None) if progress else None
    after = variables.get("after")
    for _ in range(MAX_PAGES):
        body = await runner.run(document, {**variables, "after": after} if follow else variables)
        answer.pages += 1
        answer.errors += body.get("errors") or []
        answer.sources = (body.get("extensions") or {}).get("sources", answer.sources)
        data = body.get("data")
        if answer.data is None:
            answer.data = data
        path, rows = find_rows(data)
        answer.rows_path = answer.rows_path or path
        answer.rows += rows
        if progress is not None and task is not None:
            progress.update(task, description=f"{len(answer.rows)} rows, {answer.pages} page(s)")
        info = _page_info(data, answer.rows_path) if follow and data else None
        if not info or not info.get("hasNextPage") or not info.get("endCursor"):
            break
        after = info["endCursor"]
    return answer


def _render(answer: Answer, fmt: str, out: Any) -> None:
    if fmt == "json":
        out.write(orjson.dumps({"data": answer.data, "rows": answer.rows, "errors": answer.errors or None,
                                "pages": answer.pages}, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "csv":
        out.write(to_csv(flatten(r) for r in answer.rows))
    else:
        rows = [flatten(r) for r in answer.rows]
        columns = list(dict.fromkeys(c for r in rows for c in r))
        table = Table(title=f"{answer.rows_path or 'result'}: {len(rows)} rows")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        Console(file=out).print(table)


def _report(answer: Answer, err: Console) -> int:
    for error in answer.errors:
        err.print(f"[red]error[/red] {error.get('message')}", highlight=False)
    codes = [(e.get("extensions") or {}) for e in answer.errors]
    down = sorted({c["source"] for c in codes if c.get("code") in SOURCE_DOWN and c.get("source")})
    unreadable = [c for c in codes if c.get("code") == SOURCE_DATA_ERROR]
    if down:
        err.print(f"[yellow]incomplete[/yellow]: no data from {', '.join(down)}; the output lacks it")
    if unreadable:
        err.print(f"[yellow]incomplete[/yellow]: {len(unreadable)} value(s) could not be read and are empty")
    if not answer.rows and not answer.errors:
        asked = [name for name, s in answer.sources.items() if s.get("calls")]
        err.print(f"nothing matched; sources asked: {', '.join(asked) or 'none'}")
    if answer.data is None:
        return 2
    return 3 if answer.errors else 0


def main_query(file: Path, variables: list[str], fmt: str, url: str | None, config: Path | None,
               role: str | None, output: Path | None) -> int:
    """Entry point for `federation query`; exit 0 complete, 3 partial (a source failed), 2 failed."""
    err = Console(stderr=True, soft_wrap=True)
    try:
        document = file.read_text("utf-8")
        values = parse_vars(variables)
        runner: Any = (_LocalRunner(config, role) if config
                       else _HttpRunner(url or "http://127.0.0.1:8000/graphql", os.environ.get("ONEPANE_API_KEY")))
    except (OSError, ValueError) as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        return 2

    async def go() -> Answer:
        async with runner:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True,
                          disable=not sys.stderr.isatty()) as progress:
                return await collect(runner, document, values, progress)

    try:
        answer = asyncio.run(go())
    except (ValueError, RuntimeError, aiohttp.ClientError) as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as handle:
            _render(answer, fmt, handle)
    else:
        _render(answer, fmt, sys.stdout)
    return _report(answer, err)
