"""What a compiled c360 request costs above its source calls, for comparing two trees (A/B).

The c360 document (`customers(email:) { id name purchases { orderNumber total { amount currency }
placedAt } }`) run through `FastPath._run` in-process (no HTTP), over the c360 peer's config
(benchmarks/peers/onepane-c360/onepane.yaml) with a record cache on both sources: after a warm-up
every record is served from the cache, so what is timed is the gateway's own work per request
(plan, arguments, fetch bookkeeping, identity, merge, relations, the answer's bytes), not
PostgreSQL's. Process CPU per request, median of 7 blocks.

Databases: `--databases PREFIX` names `PREFIX_shop` and `PREFIX_pos` on the local PostgreSQL, as
`benchmarks/execution.py --databases PREFIX` builds them (~7 purchases a customer), or `c360`
for the c360 workload's own (`../shared/bench/c360`, ~16 purchases a customer). Read only.

Run: `python benchmarks/above_sources.py --databases PREFIX [--customers 200]`, or
`--ab OLD_TREE NEW_TREE [--rounds 3]` to run it under each tree in turn (`PYTHONPATH`), alternately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import yaml
from machine import alternate_trees, machine_line

from federation.api.fastpath import FastPath
from federation.api.planner import compile_plan
from federation.api.schema import build_schema
from federation.config import load_config
from federation.engine.gateway import Gateway

QUERY = ("query C($e: String!) { customers(email: $e) { id name purchases { orderNumber total { amount currency } "
         "placedAt } } }")
PEER = Path(__file__).parent / "peers" / "onepane-c360" / "onepane.yaml"


async def one_tree(databases: str, customers: int, blocks: int = 7) -> float:
    """Median process-CPU microseconds per request of `blocks` blocks of five passes over the customers."""
    settings = yaml.safe_load(PEER.read_text("utf-8"))
    for name in ("shop", "pos"):
        settings["sources"][name]["url"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{databases}_{name}"
        settings["sources"][name]["cache"] = {"ttl": 1_000_000}
    settings.pop("security", None)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "above_sources.yaml"
        config.write_text(yaml.safe_dump(settings), "utf-8")
        gateway = Gateway.from_config(load_config(config, {}))
    await gateway.start()
    try:
        schema = build_schema(gateway.model, None, None, config_file=str(config))
        plan = compile_plan(QUERY, "C", schema._schema, gateway.model, schema.model_types)
        fast = FastPath(gateway, schema._schema, schema.model_types, None, None)
        emails = [f"customer{i}@example.com" for i in range(1, customers + 1)]

        async def ask(email: str) -> None:
            response = await fast._run(plan, plan.variables({"e": email}), orjson.dumps({"e": email}))
            assert response is not None, "the compiled path declined"

        for _ in range(2):  # warm-up: every record into the cache
            for email in emails:
                await ask(email)
        per_request = []
        for _ in range(blocks):
            used = time.process_time()
            for _ in range(5):
                for email in emails:
                    await ask(email)
            per_request.append((time.process_time() - used) / (5 * len(emails)) * 1e6)
    finally:
        await gateway.close()
    return statistics.median(per_request)


def ab(trees: list[str], rounds: int, databases: str, customers: int) -> list[str]:
    command = [__file__, "--databases", databases, "--customers", str(customers)]
    return [machine_line(), f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
            *alternate_trees(trees, rounds, command, "µs CPU per request", digits=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="onepane_execution", help="PREFIX of PREFIX_shop and PREFIX_pos")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--ab", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.ab:
        print("\n".join(ab(args.ab, args.rounds, args.databases, args.customers)))
    else:
        print(f"CPU µs per request {asyncio.run(one_tree(args.databases, args.customers)):.1f}")


if __name__ == "__main__":
    main()
