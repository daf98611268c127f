"""Real sources behind injected faults: each test asserts the data, the error codes and the time."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.faults.conftest import ANN, Stack, codes, refs
from tests.faults.stubs import COUNTS

HEALTHY = {"shop:1", "crm:C-1001"}
ORDERS = {"WEB-100231", "WEB-100163"}
Make = Any


def shop_part_is_whole(body: dict[str, Any]) -> None:
    (ann,) = body["data"]["customers"]
    assert ann["id"] == "shop:1" and ann["name"]
    assert {p["orderNumber"] for p in ann["purchases"]} == ORDERS


async def test_healthy_baseline(stack_factory: Make) -> None:
    stack: Stack = await stack_factory()
    body, seconds = await stack.post()
    assert body.get("errors") is None and refs(body) == HEALTHY
    shop_part_is_whole(body)
    assert body["data"]["customers"][0]["cases"]
    assert seconds < 1.0


async def test_connection_refused(stack_factory: Make) -> None:
    stack: Stack = await stack_factory()
    await stack.crm.down()
    body, seconds = await stack.post()
    assert codes(body) == {"crm": "SOURCE_UNAVAILABLE"}
    assert refs(body) == {"shop:1"}
    shop_part_is_whole(body)
    assert body["extensions"]["sources"]["crm"]["attempts"] >= 3  # refused is retried
    assert seconds < 1.5


async def test_accept_then_hang(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm={"timeout": 0.4})
    stack.crm.set(hang=True)
    body, seconds = await stack.post()
    assert codes(body) == {"crm": "SOURCE_TIMEOUT"}
    assert refs(body) == {"shop:1"}
    shop_part_is_whole(body)
    assert 0.4 <= seconds < 0.4 + 0.3  # one timeout: the hops wait on the same call, no retry


async def test_added_latency_is_paid_once_per_round_and_nothing_fails(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm={"timeout": 1.0})
    stack.crm.set(latency=0.15)
    body, seconds = await stack.post()
    assert body.get("errors") is None and refs(body) == HEALTHY
    shop_part_is_whole(body)
    assert 0.15 <= seconds < 1.5


async def test_thirty_percent_503s_are_absorbed_by_retries(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm_503=0.3, crm={"guard": {"retries": 3, "backoff": 0.01}})
    bodies = []
    started = asyncio.get_running_loop().time()
    for _ in range(20):
        body, _ = await stack.post()
        bodies.append(body)
    elapsed = asyncio.get_running_loop().time() - started
    complete = [b for b in bodies if b.get("errors") is None and refs(b) == HEALTHY]
    assert len(complete) >= 19, [codes(b) for b in bodies]
    assert all(codes(b) in ({}, {"crm": "SOURCE_UNAVAILABLE"}) for b in bodies)
    assert stack.crm_stub is not None and stack.crm_stub.app[COUNTS]["503"] > 10  # the faults did happen
    assert stack.gateway.guards["crm"].breaker.state.value == "closed"
    assert elapsed < 10


async def test_reset_mid_body(stack_factory: Make) -> None:
    stack: Stack = await stack_factory()
    stack.crm.set(reset_after=120)
    body, seconds = await stack.post()
    assert codes(body) == {"crm": "SOURCE_UNAVAILABLE"}
    assert refs(body) == {"shop:1"}
    shop_part_is_whole(body)
    assert seconds < 1.5


async def test_garbage_bytes(stack_factory: Make) -> None:
    stack: Stack = await stack_factory()
    stack.crm.set(garbage=True)
    body, seconds = await stack.post()
    assert codes(body) == {"crm": "SOURCE_UNAVAILABLE"}
    assert refs(body) == {"shop:1"}
    shop_part_is_whole(body)
    message = next(e["message"] for e in body["errors"] if e["extensions"].get("source") == "crm")
    assert "127.0.0.1" not in message
    assert seconds < 1.5


async def test_stale_records_are_served_marked_while_the_source_is_down(stack_factory: Make) -> None:
    # A TTL long enough that the second request is a hit even on a loaded CI machine.
    stack: Stack = await stack_factory(crm={"cache": {"ttl": 1.0, "stale_if_error": 60}})
    body, _ = await stack.post()
    assert refs(body) == HEALTHY
    cached, _ = await stack.post()
    crm = [r for r in cached["data"]["customers"][0]["sourceRecords"] if r["source"] == "crm"]
    assert crm[0]["stale"] is False and crm[0]["ageSeconds"] is not None
    assert cached["extensions"]["sources"]["crm"]["cacheHits"] > 0
    await asyncio.sleep(1.1)
    await stack.crm.down()
    body, seconds = await stack.post()
    assert refs(body) == HEALTHY and codes(body) == {}
    (record,) = [r for r in body["data"]["customers"][0]["sourceRecords"] if r["source"] == "crm"]
    assert record["stale"] is True and record["ageSeconds"] >= 0.3
    crm_stats = body["extensions"]["sources"]["crm"]
    assert crm_stats["stale"] > 0 and crm_stats["error"]["code"] == "SOURCE_UNAVAILABLE"
    assert body["data"]["customers"][0]["cases"]  # the cases came back stale, too
    assert seconds < 1.5


async def test_ttl_zero_asks_the_live_source_every_time_and_covers_its_outage(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm={"cache": {"ttl": 0, "stale_if_error": 60}})
    for _ in range(2):
        body, _ = await stack.post()
        assert refs(body) == HEALTHY
        crm = body["extensions"]["sources"]["crm"]
        assert crm["cacheHits"] == 0 and crm["calls"] > 0  # live, never from the cache while it answers
        assert all(r["ageSeconds"] is None for r in body["data"]["customers"][0]["sourceRecords"])
    await stack.crm.down()
    body, seconds = await stack.post()
    assert refs(body) == HEALTHY and codes(body) == {}
    (record,) = [r for r in body["data"]["customers"][0]["sourceRecords"] if r["source"] == "crm"]
    assert record["stale"] is True and record["ageSeconds"] is not None
    assert body["extensions"]["sources"]["crm"]["error"]["code"] == "SOURCE_UNAVAILABLE"
    assert body["data"]["customers"][0]["cases"]
    assert seconds < 1.5


async def test_breaker_opens_shows_in_readyz_and_fails_fast(stack_factory: Make) -> None:
    breaker = {"min_calls": 4, "window": 4, "open_seconds": 60}
    stack: Stack = await stack_factory(crm={"guard": {"retries": 0, "breaker": breaker}})
    await stack.crm.down()
    for _ in range(4):
        await stack.post()
    status, ready = await stack.get("/readyz")
    assert status == 200 and ready["sources"]["crm"]["breaker"]["state"] == "open"
    assert ready["sources"]["crm"]["breaker"]["errorRate"] == 1.0
    connections = stack.crm.connections
    body, seconds = await stack.post()
    assert codes(body) == {"crm": "CIRCUIT_OPEN"} and refs(body) == {"shop:1"}
    shop_part_is_whole(body)
    assert body["extensions"]["sources"]["crm"]["breaker"] == "open"
    assert stack.crm.connections == connections and seconds < 0.5
    sources, _ = await stack.post("{ sources { name breaker errorRate recentCalls } }")
    crm = next(s for s in sources["data"]["sources"] if s["name"] == "crm")
    assert crm["breaker"] == "open" and crm["errorRate"] == 1.0


async def test_database_stopped_and_restarted(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(shop_on_postgres=True, shop={"timeout": 1.0})
    assert stack.shop is not None
    body, _ = await stack.post()
    assert body.get("errors") is None and refs(body) == HEALTHY
    shop_part_is_whole(body)
    await stack.shop.down()
    body, seconds = await stack.post()
    assert codes(body) == {"shop": "SOURCE_UNAVAILABLE"}
    (ann,) = body["data"]["customers"]
    assert {r["source"] for r in ann["sourceRecords"]} == {"crm"} and ann["cases"]
    assert seconds < 2.0
    await stack.shop.up()
    body, seconds = await stack.post()
    assert body.get("errors") is None and refs(body) == HEALTHY
    shop_part_is_whole(body)
    assert seconds < 2.0


async def test_late_answers_never_reach_the_next_request(stack_factory: Make) -> None:
    stack: Stack = await stack_factory(crm={"timeout": 0.3, "guard": {"retries": 0}})
    stack.crm.set(latency=0.5)
    body, _ = await stack.post()
    assert codes(body) == {"crm": "SOURCE_TIMEOUT"}
    stack.crm.set()
    await asyncio.sleep(0.6)  # the late answers arrive now, on connections the gateway dropped
    for _ in range(3):
        body, _ = await stack.post(ANN)
        assert body.get("errors") is None and refs(body) == HEALTHY
