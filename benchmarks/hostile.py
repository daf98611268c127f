"""Hostile requests against the full gateway over HTTP: how fast each is rejected, and whether
normal latency is unchanged afterwards. Target: every rejection under 50 ms.

    python benchmarks/hostile.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

from federation.demo.run import demo_config_text, running_demo

NORMAL = '{ customers(email: "ann.lee@example.com") { name purchases { orderNumber status } } }'
PROBES = {
    "depth-100": "{ customers(email: \"a@b.co\") { " + "purchases { customer { " * 50 + "name" + " } }" * 50 + " } }",
    "aliases-10k": "{ " + " ".join(f"a{i}: __typename" for i in range(10_000)) + " }",
    "fragment-cycle": "query { customers(email: \"a@b.co\") { ...A } } fragment A on Customer { purchases "
                      "{ customer { ...B } } } fragment B on Customer { ...A }",
    "cost": "{ customers(name: \"ann\") { purchases { items { product { name } } shipments { events { at } } "
            "customer { purchases { payments { at } customer { purchases { items { sku } } } } } } } }",
    "tokens-100k": "{ " + "__typename " * 100_000 + "}",
    "body-5mb": None,
}


async def timed(session: aiohttp.ClientSession, url: str, probe: str | None) -> tuple[float, int]:
    body = b'{"query":"' + b" " * (5 * 1024 * 1024) + b'{__typename}"}' if probe is None else None
    started = time.perf_counter()
    if body is not None:
        async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
            await response.read()
    else:
        async with session.post(url, json={"query": probe}) as response:
            await response.read()
    return (time.perf_counter() - started) * 1000, response.status


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered):7.2f} | {p99:7.2f}"


async def main(repeat: int) -> None:
    config = yaml.safe_load(demo_config_text())
    config["security"] = {"anonymous_role": "bench", "roles": {"bench": {"allow": ["*"]}}}
    with tempfile.TemporaryDirectory() as folder:
        async with running_demo(Path(folder), config_text=yaml.safe_dump(config)) as demo, \
                aiohttp.ClientSession() as session:
            before = [(await timed(session, demo.url, NORMAL))[0] for _ in range(repeat)]
            rows = []
            for name, probe in PROBES.items():
                await timed(session, demo.url, probe)  # warm-up: first parse of a new shape
                results = [await timed(session, demo.url, probe) for _ in range(repeat)]
                rows.append((name, {s for _, s in results}, [ms for ms, _ in results]))
            after = [(await timed(session, demo.url, NORMAL))[0] for _ in range(repeat)]
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{repeat} requests each, one connection, milliseconds")
    print("| request | HTTP status | median ms | p99 ms |")
    print("|---|---|---|---|")
    print(f"| normal customer query, before | 200 | {summary(before)} |")
    for name, statuses, samples in rows:
        print(f"| {name} | {','.join(map(str, sorted(statuses)))} | {summary(samples)} |")
    print(f"| normal customer query, after | 200 | {summary(after)} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    asyncio.run(main(parser.parse_args().repeat))
