"""purchaseStats pushed down to SQL vs grouped by the engine: 100,000 purchases on PostgreSQL.

Builds a throwaway schema (dropped afterwards) with one till table of N purchases (channel code,
naive timestamp over 90 days, pence, store) and its stores. The till maps no linking key, so the
engine may let it aggregate (federation/engine/aggregate.py). Each case runs in-process through
the same code the resolver uses (`searched_and_pushed` + `purchase_stats` on a fresh `Request`),
once pushed and once with pushdown turned off (the engine searches every row, unifies and
groups); both row caps are raised to 2N so the engine path sees every purchase (and its
truncation check, which also counts the store lookups, stays quiet), and the two
answers are checked equal. Medians of several runs, alternating the two paths.

Run: `python benchmarks/stats_pushdown.py [--rows 100000] [--runs 3] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from machine import git_commit, machine_line, versions

from federation.api import stats
from federation.api.stats import PurchaseGroupBy, PurchaseStats, purchase_stats, searched_and_pushed
from federation.config import load_config
from federation.contract import Condition
from federation.engine.gateway import Gateway
from federation.engine.request import Request

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
CASES: list[tuple[str, PurchaseGroupBy, list[Condition]]] = [
    ("CHANNEL", PurchaseGroupBy.CHANNEL, []),
    ("DAY", PurchaseGroupBy.DAY, []),
    ("STORE", PurchaseGroupBy.STORE, []),
    ("CHANNEL, amount > 50", PurchaseGroupBy.CHANNEL, [Condition("total", "gt", 50)]),
]


async def build(schema: str, rows: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(PG)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"CREATE TABLE {schema}.sales (id integer PRIMARY KEY, channel_cd varchar(2),"
                           " sold_at timestamp, amount_pence integer, store_no varchar(8))")
        await conn.execute(f"INSERT INTO {schema}.sales SELECT i, (ARRAY['W','S','P'])[1 + i % 3],"
                           " timestamp '2024-01-01' + (i * 77.7) * interval '1 second',"
                           " 100 + (i * 7919) % 20000, 'S' || (i % 40) FROM generate_series(1, $1) i", rows)
        await conn.execute(f"CREATE TABLE {schema}.stores (store_no varchar(8) PRIMARY KEY, name text)")
        await conn.execute(f"INSERT INTO {schema}.stores SELECT 'S' || i, 'Store ' || i FROM generate_series(0, 39) i")
        await conn.execute(f"ANALYZE {schema}.sales")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def drop(schema: str) -> None:
    conn = await asyncpg.connect(PG)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


def config(schema: str, rows: int) -> dict[str, Any]:
    return {
        "gateway": {"max_search_rows": 2 * rows, "request_timeout": 120},
        "sources": {"till": {
            "type": "sql", "url": "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", "timeout": 120,
            "statement_timeout": 60, "max_rows": 2 * rows,
            "entities": {
                "Purchase": {"table": f"{schema}.sales", "id": "id", "fields": {
                    "channel": {"column": "channel_cd", "transform": [{"enum": {"W": "WEB", "S": "STORE",
                                                                                "P": "PHONE"}}]},
                    "placedAt": "sold_at",
                    "total": {"column": "amount_pence", "transform": [{"money_minor": "GBP"}]}},
                    "refs": {"store": "store_no"}},
                "Store": {"table": f"{schema}.stores", "id": "store_no", "fields": {"name": "name"}},
            }}},
    }


async def once(gateway: Gateway, by: PurchaseGroupBy, conditions: list[Condition],
               pushed: bool) -> tuple[float, PurchaseStats]:
    original: Callable[..., bool] = stats.pushable
    if not pushed:
        stats.pushable = lambda *_args: False  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        request = Request(gateway)
        units, partials = await searched_and_pushed(request, conditions, None, by)
        answer = await purchase_stats(request, units, by, None, partials)
        return (time.perf_counter() - started) * 1000, answer
    finally:
        stats.pushable = original  # type: ignore[assignment]


def _plain(a: PurchaseStats) -> Any:
    return a.purchases, a.truncated, [(g.key, g.count, [(t.amount, t.currency) for t in g.totals]) for g in a.groups]


def same(a: PurchaseStats, b: PurchaseStats) -> bool:
    return bool(_plain(a) == _plain(b))


async def run(rows: int, runs: int) -> list[str]:
    schema = f"onepane_bench_{uuid.uuid4().hex[:8]}"
    built = await build(schema, rows)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "onepane.yaml"
            path.write_text(yaml.safe_dump(config(schema, rows)), "utf-8")
            gateway = Gateway.from_config(load_config(path, {}))
            await gateway.start()
            try:
                table = await measure(gateway, runs)
            finally:
                await gateway.close()
        conn = await asyncpg.connect(PG)
        pg_version = await conn.fetchval("SELECT version()")
        await conn.close()
    finally:
        await drop(schema)
    return [
        "# purchaseStats pushed down to SQL vs grouped by the engine",
        "",
        f"PostgreSQL table of {rows:,} purchases (3 channels, 90 days, 40 stores), one source that maps no "
        f"linking key. In-process, `searched_and_pushed` + `purchase_stats` on a fresh request; {runs} runs "
        f"per path, alternating, after one warm-up each; medians. Building the table took {built:.1f} s.",
        "",
        "| groupBy | pushed ms (median) | engine ms (median) | engine / pushed | same answer |",
        "|---|---|---|---|---|",
        *table,
        "",
        machine_line(),
        f"- {str(pg_version).split(',')[0]} on 127.0.0.1 (same machine), default settings",
        f"- {versions(['sqlalchemy', 'asyncpg', 'strawberry-graphql'])}",
        f"- Code: git {git_commit()}",
        "",
        f"Reproduce: `python benchmarks/stats_pushdown.py --rows {rows} --runs {runs}` "
        "(needs PostgreSQL on 127.0.0.1:5432, user postgres).",
    ]


async def measure(gateway: Gateway, runs: int) -> list[str]:
    out = []
    for name, by, conditions in CASES:
        timings: dict[bool, list[float]] = {True: [], False: []}
        answers: dict[bool, PurchaseStats] = {}
        for pushed in (True, False):
            await once(gateway, by, conditions, pushed)  # warm-up: pools, column kinds, caches
        for _ in range(runs):
            for pushed in (True, False):
                ms, answers[pushed] = await once(gateway, by, conditions, pushed)
                timings[pushed].append(ms)
        fast, slow = statistics.median(timings[True]), statistics.median(timings[False])
        out.append(f"| {name} | {fast:.1f} | {slow:.0f} | {slow / fast:.0f}x | "
                   f"{'yes' if same(answers[True], answers[False]) else 'NO'} |")
        print(out[-1], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = asyncio.run(run(args.rows, args.runs))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
