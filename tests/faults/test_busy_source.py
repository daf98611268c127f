"""A healthy source that is merely busy queues its callers; a hung one still answers in time."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.faults.conftest import ANN, Stack, codes, refs

Make = Any
CLIENTS = 100


def distinct(n: int) -> str:
    """ANN under an alias of its own, so no two clients share one operation or one call."""
    return ANN.replace("customers(", f"c{n}: customers(", 1)


async def test_a_hundred_clients_on_a_busy_healthy_source_get_no_errors(stack_factory: Make) -> None:
    # Generous deadlines: a busy shared machine may be slow, never wrong; only queueing is tested.
    stack: Stack = await stack_factory(crm={"timeout": 20, "guard": {"max_concurrent": 2, "coalesce": False}},
                                       gateway={"request_timeout": 30})
    stack.crm.set(latency=0.005)
    answers = await asyncio.gather(*(stack.post(distinct(n)) for n in range(CLIENTS)))
    errors = [body["errors"] for body, _ in answers if body.get("errors")]
    assert errors == []
    for n, (body, _) in enumerate(answers):
        (ann,) = body["data"][f"c{n}"]
        assert {f"{r['source']}:{r['localId']}" for r in ann["sourceRecords"]} == {"shop:1", "crm:C-1001"}
        assert ann["cases"]
    status, metrics_text = await stack.get_text("/metrics")
    assert status == 200 and 'onepane_source_queued{source="crm"} 0.0' in metrics_text


async def test_clients_queued_behind_a_hung_source_answer_within_its_timeout(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm={"timeout": 0.4, "guard": {"max_concurrent": 2, "coalesce": False}},
                                       gateway={"request_timeout": 30})  # the other sources: slow, never cut
    stack.crm.set(hang=True)
    answers = await asyncio.gather(*(stack.post(distinct(n)) for n in range(20)))
    for n, (body, seconds) in enumerate(answers):
        assert codes(body) == {"crm": "SOURCE_TIMEOUT"}
        assert {f"{r['source']}:{r['localId']}" for r in body["data"][f"c{n}"][0]["sourceRecords"]} == {"shop:1"}
        # One source timeout, whether the time went on waiting for a slot or on calling; the rest
        # of the request is the other sources' work, slower on a busy machine but never stuck.
        assert body["extensions"]["sources"]["crm"]["ms"] < (0.4 + 0.25) * 1000
        assert seconds < 3.0
    assert stack.gateway.guards["crm"].bulkhead.waiting == 0
    body, _ = await stack.post()
    assert codes(body) == {"crm": "SOURCE_TIMEOUT"} and refs(body) == {"shop:1"}
