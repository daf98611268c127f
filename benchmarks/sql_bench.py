"""Purchases per channel per week, three ways, on the same 100,000 PostgreSQL purchases.

1. The same SQL run directly on the source database (the bound: no federation at all).
2. `purchaseStats(groupBy: WEEK, thenBy: CHANNEL)`: two dimensions, grouped by the engine over
   unified purchases (a source aggregates one dimension only), and `groupBy: WEEK` alone, which
   the till answers with one GROUP BY (federation/engine/aggregate.py).
3. `federation sql` (federation/analyst/sql.py): the purchases table fed to DuckDB page by page
   through the GraphQL API, then `GROUP BY channel, week`.

The data and config are the stats benchmark's (benchmarks/stats_pushdown.py): one till table
that maps no linking key. Every answer's (channel, week) → count is checked equal to the bound's.

Run: `python benchmarks/sql_bench.py [--rows 100000] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from machine import git_commit, machine_line, versions
from stats_pushdown import PG, build, config, drop

from federation.analyst.query import SchemaRunner
from federation.analyst.sql import run_sql
from federation.analyst.sql_plan import plan_for
from federation.api.schema import build_schema
from federation.api.stats import PurchaseGroupBy, purchase_stats, searched_and_pushed
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.security import Principal

CHANNELS = {"W": "WEB", "S": "STORE", "P": "PHONE"}
SQL = ("SELECT channel, CAST(date_trunc('week', placed_at) AS DATE) AS week, count(*) AS n "
       "FROM purchases GROUP BY ALL")


def _monday(day: date) -> str:
    return (day - timedelta(days=day.weekday())).isoformat()


async def direct(schema: str) -> tuple[float, Counter[tuple[str, str]]]:
    conn = await asyncpg.connect(PG)
    try:
        started = time.perf_counter()
        rows = await conn.fetch(f"SELECT channel_cd, date_trunc('week', sold_at)::date AS week, count(*) AS n "
                                f"FROM {schema}.sales GROUP BY 1, 2")
        ms = (time.perf_counter() - started) * 1000
    finally:
        await conn.close()
    return ms, Counter({(CHANNELS[r["channel_cd"]], r["week"].isoformat()): r["n"] for r in rows})


async def stats_two(gateway: Gateway) -> tuple[float, Counter[tuple[str, str]]]:
    started = time.perf_counter()
    request = Request(gateway)
    units, partials = await searched_and_pushed(request, [], None, PurchaseGroupBy.WEEK, PurchaseGroupBy.CHANNEL)
    answer = await purchase_stats(request, units, PurchaseGroupBy.WEEK, None, partials, PurchaseGroupBy.CHANNEL)
    ms = (time.perf_counter() - started) * 1000
    return ms, Counter({(g.keys[1], g.keys[0]): g.count for g in answer.groups})


async def stats_week(gateway: Gateway) -> tuple[float, Counter[str]]:
    started = time.perf_counter()
    request = Request(gateway)
    units, partials = await searched_and_pushed(request, [], None, PurchaseGroupBy.WEEK)
    answer = await purchase_stats(request, units, PurchaseGroupBy.WEEK, None, partials)
    return (time.perf_counter() - started) * 1000, Counter({g.key: g.count for g in answer.groups})


async def federated_sql(gateway: Gateway, model: Any) -> tuple[float, Counter[tuple[str, str]], dict[str, int]]:
    schema = build_schema(model)
    plan = plan_for(schema._schema, model, None, "*")
    runner = SchemaRunner(schema, gateway, Principal("bench", "*", "cli"))
    started = time.perf_counter()
    answer = await run_sql(SQL, plan, runner, 100_000, 1800)
    ms = (time.perf_counter() - started) * 1000
    return ms, Counter({(r[0], r[1].isoformat()): r[2] for r in answer.rows}), answer.fetched


async def run(rows: int) -> list[str]:
    schema = f"onepane_sqlb_{uuid.uuid4().hex[:8]}"
    built = await build(schema, rows)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "onepane.yaml"
            path.write_text(yaml.safe_dump(config(schema, rows)), "utf-8")
            loaded = load_config(path, {})
            gateway = Gateway.from_config(loaded)
            await gateway.start()
            try:
                bound_ms, bound = await direct(schema)
                two_ms, two = await stats_two(gateway)
                week_ms, weeks = await stats_week(gateway)
                sql_ms, fed, fetched = await federated_sql(gateway, loaded.model)
            finally:
                await gateway.close()
    finally:
        await drop(schema)
    per_week: Counter[str] = Counter()
    for (_, week), n in bound.items():
        per_week[week] += n
    same = {"purchaseStats WEEK x CHANNEL": two == bound, "purchaseStats WEEK": weeks == per_week,
            "federation sql": fed == bound}
    print(same, flush=True)
    table = [
        ("SQL on the source database (the bound)", bound_ms, "yes"),
        ("`purchaseStats(groupBy: WEEK)` (pushed: one GROUP BY)", week_ms, _yes(same["purchaseStats WEEK"])),
        ("`purchaseStats(groupBy: WEEK, thenBy: CHANNEL)` (engine)", two_ms,
         _yes(same["purchaseStats WEEK x CHANNEL"])),
        (f"`federation sql` ({fetched.get('purchases', 0):,} purchases fed, then DuckDB)", sql_ms,
         _yes(same["federation sql"])),
    ]
    return [
        "# Purchases per channel per week: SQL on the source, purchaseStats, federation sql",
        "",
        f"PostgreSQL table of {rows:,} purchases (3 channels, 90 days), one source that maps no linking key "
        f"(the stats benchmark's data; building it took {built:.1f} s). One run each, in-process.",
        "",
        "| how | ms | x the bound | same counts as the bound |",
        "|---|---|---|---|",
        *(f"| {name} | {ms:,.0f} | {ms / bound_ms:,.0f}x | {ok} |" for name, ms, ok in table),
        "",
        machine_line(),
        f"- {versions(['duckdb', 'pyarrow', 'asyncpg', 'strawberry-graphql'])}",
        f"- Code: git {git_commit()}",
        "",
        f"Reproduce: `python benchmarks/sql_bench.py --rows {rows}` (PostgreSQL on 127.0.0.1:5432, user postgres).",
    ]


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    text = "\n".join(asyncio.run(run(args.rows))) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
