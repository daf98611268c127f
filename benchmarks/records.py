"""Rows → Records for SQL sources (issue 19): CPU per record of the mapper and of whole lookups.

On the c360 peer's mapping (`benchmarks/peers/onepane-c360/onepane.yaml`) over the execution
benchmark's two PostgreSQL databases (`benchmarks/execution.py` builds them; `--reuse` takes
those of an earlier run), two figures:

1. `to_record`: each system's customers and purchases fetched once with asyncpg as mappings
   column → value, then read again and again by the entity's own `RecordMapper` (µs per record).
2. `lookup_many`: what a c360 request asks of the SQL connectors, through them against
   PostgreSQL: a customer by email in the shop and in the POS, and each one's purchases by
   customer (process CPU µs per call and per record returned). That is the whole connector
   side: choosing the statement, its parameters, asyncpg's rows, records, deduplication. The
   round trips' waiting is no CPU.

`--trees A B` runs the measurement under each checkout in turn (a child process with
`PYTHONPATH=<tree>`), alternating `--rounds` times, and prints each tree's medians: an A/B in
one run. Without it, the current `PYTHONPATH` is measured once.

Run: `python benchmarks/records.py --databases mapper_exec --reuse [--trees /work/main .]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from execution import config, postgres_sources, rows
from machine import git_commit, machine_line, versions

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.keys import normalize

_TABLES = {("shop", "Customer"): "customers", ("shop", "Purchase"): "orders",
           ("pos", "Customer"): "members", ("pos", "Purchase"): "txns"}


async def measure(urls: dict[str, str], emails: list[str], calls: int, repeat: int) -> dict[str, float]:
    """{figure: µs} for the checkout on sys.path."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gateway = Gateway.from_config(load_config(config(Path(tmp), urls), {}))
    await gateway.start()
    try:
        shop, pos = gateway.connectors["shop"], gateway.connectors["pos"]
        # 1. The mapper alone, on rows as mappings (what every connector hands it).
        for (source, entity), table in _TABLES.items():
            db = await asyncpg.connect(urls[source].replace("postgresql+asyncpg", "postgresql"))
            try:
                fetched = [dict(r) for r in await db.fetch(f"SELECT * FROM {table} ORDER BY 1 LIMIT 500")]
            finally:
                await db.close()
            mapper = gateway.connectors[source].mappers[entity]  # type: ignore[attr-defined]
            started = time.process_time()
            for _ in range(repeat):
                for row in fetched:
                    mapper.to_record(row.__getitem__)
            out[f"to_record {source} {entity}"] = (time.process_time() - started) / (repeat * len(fetched)) * 1e6
        # 2. Whole lookups, as a c360 request asks them: customers by email, then their purchases.
        rng = random.Random(5)
        asked = [normalize("email", rng.choice(emails), "") or "" for _ in range(calls)]  # as the core asks
        for email in asked[:50]:  # warm: the catalogue facts, the statements, the pools
            await _request(shop, pos, email)
        records = 0
        started = time.process_time()
        for email in asked:
            records += await _request(shop, pos, email)
        spent = time.process_time() - started
        out["lookup_many per request (4 calls)"] = spent / calls * 1e6
        out["lookup_many per record"] = spent / records * 1e6
        out["records per request"] = records / calls
    finally:
        await gateway.close()
    return out


async def _request(shop: Any, pos: Any, email: str) -> int:
    found = 0
    for connector in (shop, pos):
        customers = await connector.lookup_many("Customer", {"key:email": [email]})
        purchases = await connector.lookup_many("Purchase", {"ref:customer": [c.local_id for c in customers]})
        found += len(customers) + len(purchases)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=2000, help="c360 requests' worth of lookups (4 calls each)")
    parser.add_argument("--repeat", type=int, default=20, help="passes of the mapper over each 500 rows")
    parser.add_argument("--postgres", default="postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="onepane_execution", help="prefix of the two databases' names")
    parser.add_argument("--reuse", action="store_true", help="keep the databases an earlier run created")
    parser.add_argument("--trees", nargs="*", help="checkouts to measure alternately (A/B in one run)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tables, emails = rows(args.customers)
    if args.reuse or args.child:
        urls = {n: f"postgresql+asyncpg://{args.postgres}/{args.databases}_{n}" for n in ("shop", "pos")}
    else:
        urls = asyncio.run(postgres_sources(args.postgres, tables, args.databases))
    if args.child or not args.trees:
        found = asyncio.run(measure(urls, emails, args.calls, args.repeat))
        print(orjson.dumps(found).decode() if args.child else "\n".join(f"{k}: {v:.2f}" for k, v in found.items()))
        return
    runs: dict[str, list[dict[str, float]]] = {tree: [] for tree in args.trees}
    for i in range(args.rounds):
        for tree in args.trees if i % 2 == 0 else args.trees[::-1]:
            child = [sys.executable, __file__, "--child", "--postgres", args.postgres, "--databases", args.databases,
                     "--customers", str(args.customers), "--calls", str(args.calls), "--repeat", str(args.repeat)]
            env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
            done = subprocess.run(child, env=env, capture_output=True, text=True, check=True)
            runs[tree].append(orjson.loads(done.stdout.strip().splitlines()[-1]))
    figures = list(runs[args.trees[0]][0])
    print(f"rows → Records ({args.rounds} rounds alternating, medians; µs of process CPU):")
    print(machine_line())
    print(f"- {versions(['sqlalchemy', 'asyncpg'])}; commit {git_commit()}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| figure | " + " | ".join(args.trees) + " |")
    print("|---|" + "---|" * len(args.trees))
    for figure in figures:
        cells = [statistics.median(r[figure] for r in runs[t]) for t in args.trees]
        print(f"| {figure} | " + " | ".join(f"{c:,.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
