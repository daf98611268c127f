"""SQL connector at scale: one customer with ~20 purchases, at 10,000 and at 1,000,000 purchases.

Generates a throwaway PostgreSQL database (`onepane_bench`, dropped afterwards unless `--keep`):
100,000 customers and two purchase tables over the same customers, `purchases_10k` and
`purchases_1m`. Customers 1-500 have exactly 20 purchases in both tables, spread through the
heap; in `purchases_1m` the other 990,000 purchases belong to customers 501-100,000. The
indexes are the ones a DBA would add for the lookups the connector sends: an expression index on
`lower(trim(email))` (the email key's comparison) and a b-tree on `purchases.customer_id`.

The whole gateway runs in-process (`Gateway.from_config` → `create_app` → aiohttp `AppRunner`
on 127.0.0.1) and GraphQL goes to it over HTTP:
`{ customers(email: $e) { id name purchases { orderNumber total { amount } placedAt } } }` for
random customers among 1-500. SQL statements are counted with a `before_cursor_execute`
listener on the connector's engine.

Run: `python benchmarks/sql_scale.py [--queries 300] [--rounds 5] [--keep] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from machine import git_commit, machine_line, versions
from sqlalchemy import event

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app

DB = "onepane_bench"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CUSTOMERS = 100_000
SAMPLED = 500
PER_SAMPLED = 20
SIZES = {"10k": 10_000, "1m": 1_000_000}

SETUP = f"""
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL);
INSERT INTO customers SELECT i, 'Customer ' || i, 'customer' || i || '@example.com'
  FROM generate_series(1, {CUSTOMERS}) i;
CREATE INDEX customers_email_key ON customers (lower(trim(email)));
"""
PURCHASES = """
CREATE TABLE {table} (id integer PRIMARY KEY, order_no text NOT NULL, customer_id integer NOT NULL,
                      total_pence integer NOT NULL, placed_at timestamptz NOT NULL);
INSERT INTO {table}
SELECT i, 'ORD-' || lpad(i::text, 8, '0'),
       CASE WHEN i % {every} = 0 THEN (i / {every} - 1) % {sampled} + 1
            ELSE {sampled} + 1 + (i::bigint * 48271) % ({customers} - {sampled}) END,
       (i::bigint * 7919) % 100000, timestamptz '2023-01-01 00:00Z' + (i % 525600) * interval '1 minute'
  FROM generate_series(1, {rows}) i;
CREATE INDEX {table}_customer ON {table} (customer_id);
"""

CONFIG = """
gateway: {{region: GB}}
security: {{anonymous_role: bench, roles: {{bench: {{allow: ["*"]}}}}}}
sources:
  shop:
    type: sql
    description: Benchmark shop database
    timeout: 10
    url: postgresql+asyncpg://postgres@127.0.0.1:5432/{db}
    pool_size: 5
    entities:
      Customer:
        table: customers
        id: id
        fields: {{name: name, emails: email}}
        keys: {{email: email}}
      Purchase:
        table: {table}
        id: id
        fields:
          orderNumber: order_no
          total: {{column: total_pence, transform: [{{money_minor: GBP}}]}}
          placedAt: placed_at
        refs: {{customer: customer_id}}
"""
QUERY = ("query($e: String) { customers(email: $e) "
         "{ id name purchases { orderNumber total { amount } placedAt } } }")


async def build_database() -> float:
    """Create and fill the throwaway database; seconds taken."""
    started = time.perf_counter()
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DB}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(ADMIN_DSN.rsplit("/", 1)[0] + f"/{DB}")
    try:
        await conn.execute(SETUP)
        for name, rows in SIZES.items():
            # Every `every`-th row belongs to one of the sampled customers: 20 each, spread out.
            every = rows // (SAMPLED * PER_SAMPLED)
            await conn.execute(PURCHASES.format(table=f"purchases_{name}", every=every, sampled=SAMPLED,
                                                customers=CUSTOMERS, rows=rows))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def drop_database() -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    finally:
        await admin.close()


async def server_version() -> str:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def measure(size: str, queries: int, seed: int) -> dict[str, Any]:
    """p50/p99 latency (ms) and SQL statements per request over `queries` random customers."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(CONFIG.format(db=DB, table=f"purchases_{size}"), "utf-8")
        gateway = Gateway.from_config(load_config(config))
        runner = web.AppRunner(create_app(gateway), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        engine = gateway.connectors["shop"]._require_engine()  # type: ignore[attr-defined]
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        rng = random.Random(seed)
        latencies: list[float] = []
        per_request: list[int] = []
        try:
            async with aiohttp.ClientSession() as client:
                for n in range(queries + 20):  # 20 warm-up requests, not timed
                    email = f"customer{rng.randint(1, SAMPLED)}@example.com"
                    before = statements[0]
                    started = time.perf_counter()
                    async with client.post(url, json={"query": QUERY, "variables": {"e": email}}) as resp:
                        body = await resp.json()
                    elapsed = time.perf_counter() - started
                    check(body, email)
                    if n >= 20:
                        latencies.append(elapsed * 1000)
                        per_request.append(statements[0] - before)
        finally:
            await runner.cleanup()
    return {"p50": statistics.median(latencies), "p99": statistics.quantiles(latencies, n=100)[98],
            "statements": sorted(set(per_request))}


def check(body: dict[str, Any], email: str) -> None:
    if body.get("errors"):
        raise SystemExit(f"{email}: GraphQL errors: {body['errors']}")
    customers = body["data"]["customers"]
    if len(customers) != 1 or len(customers[0]["purchases"]) != PER_SAMPLED:
        raise SystemExit(f"{email}: expected one customer with {PER_SAMPLED} purchases, got {customers}")


def machine(pg_version: str) -> list[str]:
    return [machine_line(),
            f"- PostgreSQL {pg_version} on 127.0.0.1 (same machine), default settings",
            f"- {versions(('sqlalchemy', 'asyncpg', 'aiohttp', 'strawberry-graphql'))}",
            f"- Code: git {git_commit()} (`-dirty`: measured on a working tree with uncommitted changes)"]


def report(rounds: list[dict[str, dict[str, Any]]], queries: int, build_s: float, pg_version: str) -> str:
    med = {size: {k: statistics.median(r[size][k] for r in rounds) for k in ("p50", "p99")} for size in SIZES}
    stmts = {size: sorted({s for r in rounds for s in r[size]["statements"]}) for size in SIZES}
    rows = []
    for s in SIZES:
        per_round = " / ".join(f"{r[s]['p50']:.1f}" for r in rounds)
        rows.append(f"| {SIZES[s]:,} | {med[s]['p50']:.1f} | {med[s]['p99']:.1f} | "
                    f"{', '.join(map(str, stmts[s]))} | {per_round} |")
    ratio50 = med["1m"]["p50"] / med["10k"]["p50"]
    ratio99 = med["1m"]["p99"] / med["10k"]["p99"]
    same = stmts["10k"] == stmts["1m"]
    target = (f"p50 under 15 ms: {'met' if max(m['p50'] for m in med.values()) < 15 else 'MISSED'}; "
              f"1M/10k p50 ratio at most 1.5: {'met' if ratio50 <= 1.5 else 'MISSED'}; "
              f"statements per request independent of size: {'met' if same else 'MISSED'}")
    return "\n".join([
        "# SQL connector at scale: one customer with 20 purchases",
        "",
        f"PostgreSQL database with {CUSTOMERS:,} customers; purchases in a table of 10,000 or of "
        f"1,000,000 rows (same customers). Each request asks the full gateway over HTTP for one random "
        f"customer among the {SAMPLED} who have exactly {PER_SAMPLED} purchases (spread through the "
        f"table): `{QUERY}`. {queries} timed requests per size per round after 20 warm-up requests; "
        f"{len(rounds)} rounds alternating the sizes, a fresh gateway each time; the table shows the "
        "medians over rounds. Indexes: `customers (lower(trim(email)))` and `purchases (customer_id)`. "
        f"Building the database took {build_s:.0f} s.",
        "",
        "| purchases | p50 ms | p99 ms | SQL statements per request | p50 per round |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"1M/10k latency ratio: p50 {ratio50:.2f}, p99 {ratio99:.2f}.",
        "",
        f"Targets: {target}.",
        "",
        *machine(pg_version),
        "",
        "Reproduce: `python benchmarks/sql_scale.py` (needs PostgreSQL on 127.0.0.1:5432, user postgres).",
        "",
    ])


async def run(queries: int, rounds: int, keep: bool) -> str:
    build_s = await build_database()
    try:
        results = []
        for n in range(rounds):
            order = list(SIZES) if n % 2 == 0 else list(reversed(SIZES))
            results.append({size: await measure(size, queries, seed=n) for size in order})
            print(f"round {n + 1}: " + ", ".join(f"{s} p50 {r['p50']:.1f} ms p99 {r['p99']:.1f} ms "
                                                 f"statements {r['statements']}" for s, r in results[-1].items()))
        return report(results, queries, build_s, await server_version())
    finally:
        if not keep:
            await drop_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the onepane_bench database")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sql_scale.md")
    args = parser.parse_args()
    text = asyncio.run(run(args.queries, args.rounds, args.keep))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    print(text)


if __name__ == "__main__":
    main()
