"""Fair share of a source (issue 25): 30 aliases in one request may not take a source's whole
concurrency; another caller's request still gets its slot promptly."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.faults.conftest import demo_files, stack_factory  # noqa: F401  (fixtures)

DELAY = 0.2  # the CRM answers each request this late
ALIASES = "{ " + " ".join(f'a{i}: customers(name: "Nobody {i}") {{ id }}' for i in range(30)) + " }"
ONE = '{ customers(name: "Ann Lee") { id } }'


async def test_thirty_aliases_leave_room_for_another_caller(stack_factory: Any) -> None:  # noqa: F811
    stack = await stack_factory(crm={"timeout": 3, "guard": {"max_concurrent": 8}}, gateway={"request_timeout": 10})
    stack.crm.set(latency=DELAY)
    greedy = asyncio.ensure_future(stack.post(ALIASES))
    await asyncio.sleep(DELAY / 2)  # the aliases' calls are in flight
    other, took = await stack.post(ONE)
    assert not other.get("errors"), other["errors"]
    assert took < 4 * DELAY + 1, took  # a slot was free: no wait behind the 30 aliases
    body, _ = await greedy
    # Each alias waited for the request's own earlier calls, none was refused.
    assert not body.get("errors"), body["errors"][:2]
    assert body["extensions"]["sources"]["crm"]["calls"] >= 30
    assert stack.gateway.guards["crm"].bulkhead.active == 0


async def test_the_share_is_configurable(stack_factory: Any) -> None:  # noqa: F811
    stack = await stack_factory(crm={"timeout": 3, "guard": {"max_concurrent": 8, "request_share": 0.25}})
    stack.crm.set(latency=DELAY)
    started = time.perf_counter()
    body, _ = await stack.post("{ " + " ".join(f'a{i}: customers(name: "Nobody {i}") {{ id }}'
                                               for i in range(8)) + " }")
    took = time.perf_counter() - started
    assert not body.get("errors")
    assert took >= 4 * DELAY * 0.9  # 8 calls, 2 at a time: four rounds of the CRM's delay
