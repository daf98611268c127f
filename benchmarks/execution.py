"""Per-request execution cost: strawberry's path and the compiled path, side by side in one run.

The customer-360 document of the c360 workload (`../shared/bench/c360/README.md`), one random
customer by email per request, over two databases shaped like its web shop and POS
(generated here, smaller: --customers, four orders each; a POS member for two customers in
three, three till receipts each; on PostgreSQL as c360 has them, or in SQLite files) and
mapped as `benchmarks/peers/onepane-c360/onepane.yaml` maps them. The gateway runs in this
process behind aiohttp on loopback; one connection sends one request at a time, so nothing is
shared between requests (no coalescing). Both paths get the same email sequence, in alternating
blocks, and answers are checked equal for every request.

Run: `python benchmarks/execution.py [--customers 5000] [--requests 2000] [--out FILE]`.
`--advised-indexes` adds to these (the benchmark's own) databases the indexes `federation indexes
--all` advises, so the statements are cheap and the gateway's own work is what is left; `--paths
compiled` measures one path (for a profiler); `--reuse` keeps the databases of an earlier run.
Every SQL statement the gateway sends is counted (SQLAlchemy's `before_execute`, and the lookups
sent straight to asyncpg, connectors/sql/direct.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from machine import git_commit, machine_line, versions
from sqlalchemy import event

from federation.api.fastpath import FastPath
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import OnepaneView, create_app

QUERY = ("query C($e: String!) { customers(email: $e) { id name purchases { orderNumber total { amount currency } "
         "placedAt } } }")


SHOP_DDL = """
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT, customer_id INTEGER, placed_at TEXT,
                         total_pence INTEGER);
    CREATE INDEX orders_customer ON orders (customer_id);
    CREATE INDEX customers_email ON customers (email);
    CREATE INDEX orders_no ON orders (order_no);
"""
POS_DDL = """
    CREATE TABLE members (member_no CHAR(8) PRIMARY KEY, full_name TEXT, email TEXT);
    CREATE TABLE txns (txn_id INTEGER PRIMARY KEY, receipt_no TEXT, member_no CHAR(8), txn_at TEXT,
                       amount NUMERIC);
    CREATE INDEX txns_member ON txns (member_no);
    CREATE INDEX members_email ON members (email);
    CREATE INDEX txns_receipt ON txns (receipt_no);
"""


def rows(customers: int) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """Every table's rows; the emails to ask for, as people type them (spaces, capitals)."""
    rng = random.Random(7)
    tables: dict[str, list[tuple[Any, ...]]] = {"customers": [], "orders": [], "members": [], "txns": []}
    emails, order, txn = [], 0, 0
    for i in range(1, customers + 1):
        email = f"customer{i}@example.com"
        emails.append(email)
        tables["customers"].append((i, f"Customer {i}", email))
        for _ in range(4):
            order += 1
            tables["orders"].append((order, f"W-{order:07d}", i, f"2025-{rng.randint(1, 12):02d}-"
                                     f"{rng.randint(1, 28):02d}T10:00:00Z", rng.randint(500, 50000)))
        if i % 3:
            member = f"M{i:07d}"
            tables["members"].append((member, f"CUSTOMER {i}", email.upper()))
            for _ in range(3):
                txn += 1
                tables["txns"].append((txn, f"R{txn:08d}", member, f"2025-{rng.randint(1, 12):02d}-01T12:00:00Z",
                                       Decimal(f"{rng.randint(1, 400)}.{rng.randint(0, 99):02d}")))
    return tables, [f"  {e.capitalize()} " if n % 2 else e for n, e in enumerate(emails)]


def sqlite_sources(folder: Path, tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, str]:
    urls = {}
    for name, ddl, owned in (("shop", SHOP_DDL, ("customers", "orders")), ("pos", POS_DDL, ("members", "txns"))):
        db = sqlite3.connect(folder / f"{name}.db")
        db.executescript(ddl)
        for table in owned:
            marks = ", ".join("?" * len(tables[table][0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", [tuple(map(_sqlite, r)) for r in tables[table]])
        db.commit()
        db.close()
        urls[name] = f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
    return urls


def _sqlite(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


async def postgres_sources(server: str, tables: dict[str, list[tuple[Any, ...]]],
                           prefix: str = "onepane_execution") -> dict[str, str]:
    """Two fresh databases on the PostgreSQL at `server` (user@host:port), as the c360 workload has."""
    urls = {}
    admin = await asyncpg.connect(f"postgresql://{server}/postgres")
    try:
        for name, ddl, owned in (("shop", SHOP_DDL, ("customers", "orders")), ("pos", POS_DDL, ("members", "txns"))):
            database = f"{prefix}_{name}"
            await admin.execute(f"DROP DATABASE IF EXISTS {database}")
            await admin.execute(f"CREATE DATABASE {database}")
            db = await asyncpg.connect(f"postgresql://{server}/{database}")
            try:
                await db.execute(ddl.replace("placed_at TEXT", "placed_at TIMESTAMPTZ")
                                 .replace("txn_at TEXT", "txn_at TIMESTAMPTZ"))
                for table in owned:
                    records = [tuple(_timestamp(v) for v in r) for r in tables[table]]
                    await db.copy_records_to_table(table, records=records)
                await db.execute("ANALYZE")
            finally:
                await db.close()
            urls[name] = f"postgresql+asyncpg://{server}/{database}"
    finally:
        await admin.close()
    return urls


def _timestamp(value: Any) -> Any:
    if isinstance(value, str) and value.endswith("Z") and value[:4].isdigit():
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def config(folder: Path, urls: dict[str, str]) -> Path:
    """The c360 peer's config with these two databases' URLs."""
    peer = Path(__file__).parent / "peers" / "onepane-c360" / "onepane.yaml"
    settings = yaml.safe_load(peer.read_text("utf-8"))
    for name, url in urls.items():
        settings["sources"][name]["url"] = url
    path = folder / "execution.yaml"
    path.write_text(yaml.safe_dump(settings), "utf-8")
    return path


def _view(app: web.Application) -> OnepaneView:
    return next(r.handler for r in app.router.routes() if isinstance(r.handler, OnepaneView))


async def advise_indexes(folder: Path, urls: dict[str, str]) -> list[str]:
    """Create the indexes `federation indexes --all` advises for these databases (one per lookup:
    the tables here are below the size from which plain `federation indexes` advises); the statements run."""
    gateway = Gateway.from_config(load_config(config(folder, urls), {}))
    await gateway.start()
    try:
        advice = [line for c in gateway.connectors.values() for line in await c.index_advice(None)
                  if line.startswith("CREATE INDEX")]
    finally:
        await gateway.close()
    for name, url in urls.items():
        db = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            for line in advice:
                table = line.split(" ON ", 1)[1].split(" ", 1)[0]
                if table in {"shop": ("customers", "orders"), "pos": ("members", "txns")}[name]:
                    await db.execute(line)
            await db.execute("ANALYZE")
        finally:
            await db.close()
    return advice


def count_statements(gateway: Gateway) -> list[int]:
    """A counter of the SQL statements every source of `gateway` sends, from now on."""
    counted = [0]

    def seen(*_: object) -> None:
        counted[0] += 1

    for connector in gateway.connectors.values():
        engine = getattr(connector, "_require_engine", None)
        if engine is not None:
            # `before_execute`, not `before_cursor_execute`: a listener of the statement events
            # sends lookups back through SQLAlchemy's execution (connectors/sql/direct.py).
            event.listen(engine().sync_engine, "before_execute", seen)
    return counted


def statements_sent(gateway: Gateway, counted: list[int]) -> int:
    """Statements sent so far: SQLAlchemy's, and those sent straight to asyncpg (connectors/sql/direct.py)."""
    direct = (getattr(c, "_direct", None) for c in gateway.connectors.values())
    return counted[0] + sum(d.sent for d in direct if d is not None)


async def measure(folder: Path, urls: dict[str, str], emails: list[str], requests: int,
                  block: int, paths: tuple[str, ...] = ("strawberry", "compiled")) -> dict[str, list[float]]:
    gateway = Gateway.from_config(load_config(config(folder, urls), {}))
    statements = count_statements(gateway)
    app = create_app(gateway)
    view = _view(app)
    fast = view.fast
    assert isinstance(fast, FastPath)
    rng = random.Random(11)
    asked = [rng.choice(emails) for _ in range(requests)]
    times: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, float] = dict.fromkeys(paths, 0.0)  # process CPU seconds per path
    sent: dict[str, int] = dict.fromkeys(paths, 0)  # SQL statements per path
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("/graphql"))
    try:
        async with aiohttp.ClientSession() as session:
            async def ask(email: str) -> tuple[float, bytes]:
                body = orjson.dumps({"query": QUERY, "operationName": "C", "variables": {"e": email}})
                started = time.perf_counter()
                async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
                    raw = await r.read()
                return time.perf_counter() - started, raw

            for email in emails[:50]:  # learn the document; warm the connection pools
                await ask(email)
            for start in range(0, requests, block):
                answers: dict[str, list[bytes]] = {}
                for path in paths if start // block % 2 == 0 else paths[::-1]:
                    view.fast = fast if path == "compiled" else None
                    before, counted = fast.answered, statements_sent(gateway, statements)
                    answers[path] = []
                    used = time.process_time()
                    for email in asked[start:start + block]:
                        seconds, raw = await ask(email)
                        times[path].append(seconds)
                        answers[path].append(raw)
                    cpu[path] += time.process_time() - used
                    sent[path] += statements_sent(gateway, statements) - counted
                    if path == "compiled":
                        assert fast.answered - before == len(answers[path]), "the compiled path declined"
                if len(answers) == 2:
                    assert answers["compiled"] == answers["strawberry"], "the two paths answered differently"
    finally:
        await server.close()
        await gateway.close()
    times["cpu"] = [cpu[p] / len(times[p]) for p in paths]
    times["statements"] = [sent[p] / len(times[p]) for p in paths]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--postgres", default="postgres@127.0.0.1:5432",
                        help="user@host:port of a PostgreSQL to create the two databases on; '' for SQLite files")
    parser.add_argument("--databases", default="onepane_execution", help="prefix of the two databases' names")
    parser.add_argument("--advised-indexes", action="store_true",
                        help="add the indexes `federation indexes` advises to the benchmark's databases (PostgreSQL)")
    parser.add_argument("--paths", choices=["both", "compiled", "strawberry"], default="both")
    parser.add_argument("--reuse", action="store_true", help="keep the databases an earlier run created")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tables, emails = rows(args.customers)
    paths = ("strawberry", "compiled") if args.paths == "both" else (args.paths,)
    advice: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.postgres and args.reuse:
            urls = {n: f"postgresql+asyncpg://{args.postgres}/{args.databases}_{n}" for n in ("shop", "pos")}
        elif args.postgres:
            urls = asyncio.run(postgres_sources(args.postgres, tables, args.databases))
        else:
            urls = sqlite_sources(folder, tables)
        if args.advised_indexes and args.postgres:
            advice = asyncio.run(advise_indexes(folder, urls))
        times = asyncio.run(measure(folder, urls, emails, args.requests, args.block, paths))
    cpus = dict(zip(paths, (c * 1e6 for c in times.pop("cpu")), strict=True))
    sent = dict(zip(paths, times.pop("statements"), strict=True))
    medians = {p: statistics.median(times[p]) * 1e6 for p in paths}
    p90 = {p: statistics.quantiles(times[p], n=10)[-1] * 1e6 for p in times}
    names = {"strawberry": "strawberry (graphql-core executes, resolvers per field)",
             "compiled": "compiled (cached plan, variables bound)"}
    lines = [
        f"execution ({'PostgreSQL' if args.postgres else 'SQLite'}, {args.customers} customers, "
        f"{args.requests} requests per path, one connection, "
        f"blocks of {args.block} alternating"
        f"{', advised indexes: ' + str(len(advice)) if args.advised_indexes else ''}):",
        machine_line(),
        f"- {versions(['aiohttp', 'strawberry-graphql', 'graphql-core', 'sqlalchemy', 'asyncpg', 'aiosqlite'])}; "
        f"commit {git_commit()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "| path | median µs / request | p90 µs | CPU µs / request (gateway and client process) "
        "| SQL statements / request |",
        "|---|---|---|---|---|",
        *(f"| {names[p]} | {medians[p]:,.0f} | {p90[p]:,.0f} | {cpus[p]:,.0f} | {sent[p]:.2f} |" for p in paths),
    ]
    if len(paths) == 2:
        lines.append(f"| ratio strawberry / compiled | {medians['strawberry'] / medians['compiled']:.2f} | "
                     f"| {cpus['strawberry'] / cpus['compiled']:.2f} | |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
