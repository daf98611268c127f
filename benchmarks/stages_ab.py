"""The engine's cost per request through `Request`, for comparing two trees side by side (A/B).

One customer-360 in-process, no HTTP in front: a fresh `Request`, a customer search over every
source, then each relation of the customers for the whole level at once (`related_many`), then
each relation of their purchases. The demo's sources: three SQLite databases, export files and the
CRM left out (its HTTP round trips would
drown the engine's own work in noise). Used to check that splitting `Request` into stage modules (fetch,
resolve, relate, search) costs nothing measurable: run it under the old and the new tree in turn
(`PYTHONPATH`), alternately, and compare medians.

Run: `python benchmarks/stages_ab.py --ab OLD_TREE NEW_TREE [--rounds 5] [--iterations 200]`
(each round runs this script once per tree, alternately), or without `--ab` for one tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from machine import alternate_trees, machine_line, versions

from federation.config import load_config
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.engine.gateway import Gateway
from federation.engine.request import Request


async def one_tree(iterations: int) -> float:
    """Median milliseconds of one customer-360 level by level, after a warm-up."""
    folder = Path(tempfile.mkdtemp())
    build_demo(folder)
    config = folder / "demo.yaml"
    data = yaml.safe_load(demo_config_text())
    data["sources"].pop("crm")
    data["gateway"]["key_groups"] = {group: [s for s in members if s != "crm"]
                                     for group, members in data["gateway"].get("key_groups", {}).items()}
    config.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    gateway = Gateway.from_config(load_config(config, dict(os.environ)))
    await gateway.start()
    customer = gateway.model.entities["Customer"]
    purchase = gateway.model.entities["Purchase"]
    times: list[float] = []
    try:
        for i in range(iterations + 20):
            started = time.perf_counter()
            request = Request(gateway)
            customers = await request.search("Customer", [], [], 50)
            purchases = []
            for name in customer.relations:
                related = await request.related_many(customers, name)
                if customer.relations[name].entity == "Purchase":
                    purchases = list({id(u): u for level in related for u in level}.values())
            for name in purchase.relations:
                await request.related_many(purchases, name)
            if i >= 20:
                times.append((time.perf_counter() - started) * 1000)
        assert customers and purchases, "the demo's customers and purchases were not found"
    finally:
        await gateway.close()
    return statistics.median(times)


def ab(trees: list[str], rounds: int, iterations: int) -> list[str]:
    return [machine_line(), versions(["strawberry-graphql", "aiohttp", "SQLAlchemy"]),
            *alternate_trees(trees, rounds, [__file__, "--iterations", str(iterations)], "ms")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ab", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    if args.ab:
        print("\n".join(ab(args.ab, args.rounds, args.iterations)))
    else:
        print(f"median ms {asyncio.run(one_tree(args.iterations)):.3f}")


if __name__ == "__main__":
    main()
