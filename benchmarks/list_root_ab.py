"""The graphql-benchmarks queries on the compiled path, in-process, for one checkout: run it once
per checkout, alternating (`PYTHONPATH=<checkout> python benchmarks/list_root_ab.py <checkout>`),
to see whether a change to the list-root path moved them. The upstream is the contract test's
in-process JSONPlaceholder (100 posts, 10 users); one connection; median µs per request and
process CPU µs per request (gateway, upstream and client share the process).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import orjson
from aiohttp.test_utils import TestServer

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.integration.test_contract_graphql_benchmarks import build, upstream

QUERIES = {"posts_with_users": "{posts{id,userId,title,user{id,name,email}}}", "posts_titles": "{posts{title}}"}


async def main(root: Path, requests: int = 800) -> None:
    posts, users = build()
    up = TestServer(upstream(posts, users), host="127.0.0.1", port=0)
    await up.start_server()
    env = {"UPSTREAM": str(up.make_url("")).rstrip("/")}
    gateway = TestServer(create_app(Gateway.from_config(load_config(root / "benchmarks/peers/onepane/onepane.yaml",
                                                                    env))), host="127.0.0.1", port=0)
    await gateway.start_server()
    url = str(gateway.make_url("/graphql"))
    out = {}
    async with aiohttp.ClientSession() as session:
        for name, query in QUERIES.items():
            body = orjson.dumps({"operationName": None, "variables": {}, "query": query})
            headers = {"Content-Type": "application/json"}
            for _ in range(50):  # learn, plan, warm
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
            times, cpu = [], time.process_time()
            for _ in range(requests):
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                times.append(time.perf_counter() - started)
            out[name] = (statistics.median(times) * 1e6, (time.process_time() - cpu) / requests * 1e6)
    await gateway.close()
    await up.close()
    print(root, {k: f"median {a:,.0f} µs, CPU {b:,.0f} µs" for k, (a, b) in out.items()})


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]))
