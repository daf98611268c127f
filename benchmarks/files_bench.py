"""The `files` connector on a 1,000,000-row CSV (generated here, never committed): cold load,
key lookup p50 by id and by a normalized email key, a pushed search, the time from a new file
landing to it serving, and RSS growth per million rows.

    python benchmarks/files_bench.py [--rows 1000000] [--folder /tmp/onepane-files-bench]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path

from connectors.files import FilesConnector
from connectors.sdk import Condition, ConnectorContext, SearchRequest
from federation.model import builtin_model


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _export(path: Path, rows: int, tag: str) -> None:
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("cust_no,name,email,phone\n")
        for i in range(rows):
            out.write(f"C{i},{tag} Customer {i},User{i}@Example.com,\n")
    old = time.time() - 60
    os.utime(tmp, (old, old))
    tmp.rename(path)


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def main(rows: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    _export(folder / "customers_1.csv", rows, "old")
    options = FilesConnector.validate_options({
        "path": str(folder), "pattern": "customers_*.csv", "settle": 1.0, "poll_interval": 0.2,
        "entities": {"Customer": {"id": "cust_no", "fields": {"name": "name", "emails": "email"},
                                  "keys": {"email": "email"}}}})
    connector = FilesConnector("bench", options, ConnectorContext(model=builtin_model(), base_dir=folder))
    before = _rss_mb()
    started = time.perf_counter()
    await connector.open()
    cold = time.perf_counter() - started
    grown = _rss_mb() - before
    ids, emails, searches = [], [], []
    for _ in range(2000):
        n = random.randrange(rows)
        t = time.perf_counter()
        found = await connector.lookup("Customer", "id", [f"C{n}"])
        ids.append(time.perf_counter() - t)
        assert len(found) == 1
        t = time.perf_counter()
        await connector.lookup("Customer", "key:email", [f"user{n}@example.com"])
        emails.append(time.perf_counter() - t)
    for _ in range(20):
        t = time.perf_counter()
        wanted = Condition("name", "eq", f"old customer {random.randrange(rows)}")
        await connector.search("Customer", SearchRequest((wanted,)))
        searches.append(time.perf_counter() - t)
    _export(folder / "customers_2.csv", rows, "new")
    landed = time.perf_counter()  # the file is complete (renamed in) from here
    while True:
        found = await connector.lookup("Customer", "id", ["C0"])
        if found and found[0].fields["name"].startswith("new"):
            break
        await asyncio.sleep(0.05)
    serving = time.perf_counter() - landed
    await connector.close()
    print(f"rows: {rows}")
    print(f"cold load (read + index): {cold:.2f} s")
    print(f"RSS growth: {grown:.0f} MB ({grown / rows * 1e6:.0f} MB per million rows)")
    print(f"lookup by id p50: {_p50_ms(ids)} ms")
    print(f"lookup by email key p50: {_p50_ms(emails)} ms")
    print(f"pushed search (name eq) p50: {_p50_ms(searches)} ms")
    print(f"new file landing to serving (settle 1 s, poll 0.2 s): {serving:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/onepane-files-bench"))
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.folder))
