"""The record cache: serialization, fresh and stale windows, stale-if-error in the engine, Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from federation.cache import Entry, RecordCache, RedisCache, dumps_records, loads_records
from federation.config.models import CacheSettings
from federation.engine.request import Request
from federation.records import Money, Record
from tests.conftest import require_service
from tests.unit.test_engine import Memory, cust
from tests.unit.test_resilience_engine import build

RICH = Record(
    "Purchase", "shop", "7",
    fields={"total": Money(Decimal("24.990"), "GBP"), "rate": Decimal("0.1"), "qty": 2, "ok": True,
            "placedAt": datetime(2025, 11, 20, 19, 42, 30, tzinfo=timezone(timedelta(hours=1))),
            "born": date(1980, 2, 1), "tags": ["a", "b"], "note": None, "ratio": 1.5,
            "odd": {"$t": "not a tag"}.get("$t")},
    keys={"orderNumber": ("WEB-1", "WEB-01")}, refs={"customer": "1"},
    updated_at=datetime(2025, 1, 1, tzinfo=UTC), raw={"status": "shipped"}, errors={"x": "unreadable"},
    as_of=datetime(2024, 12, 31, tzinfo=UTC),  # read from an export made then
)


def test_serialization_round_trips_exact_types() -> None:
    records, at = loads_records(dumps_records([RICH], 123.5)) or ((), 0.0)
    (back,) = records
    assert at == 123.5
    assert dict(back.fields) == dict(RICH.fields)
    assert isinstance(back.fields["total"].amount, Decimal) and str(back.fields["total"].amount) == "24.990"
    assert back.fields["placedAt"].utcoffset() == timedelta(hours=1)
    assert dict(back.keys) == {"orderNumber": ("WEB-1", "WEB-01")}
    assert (back.updated_at, dict(back.refs), dict(back.raw), dict(back.errors), back.as_of) == (
        RICH.updated_at, dict(RICH.refs), dict(RICH.raw), dict(RICH.errors), RICH.as_of)


@pytest.mark.parametrize("blob", [b"", b"garbage", b'{"v": 99, "at": 1, "records": []}', b'{"v": 1}'])
def test_unreadable_or_foreign_entries_are_misses(blob: bytes) -> None:
    assert loads_records(blob) is None


async def test_fresh_and_stale_windows() -> None:
    cache = RecordCache({"crm": CacheSettings(ttl=30, stale_if_error=300, max_entries=10)})
    await cache.store("crm", "Customer", "key:email", {"a": [RICH]})
    assert set(await cache.fresh("crm", "Customer", "key:email", ["a", "b"])) == {"a"}
    key = ("crm", "Customer", "key:email", "a")
    cache._local["crm"].put(key, Entry((RICH,), time.time() - 100))
    assert await cache.fresh("crm", "Customer", "key:email", ["a"]) == {}
    assert (await cache.stale("crm", "Customer", "key:email", ["a"]))["a"].age() >= 100
    cache._local["crm"].put(key, Entry((RICH,), time.time() - 331))
    assert await cache.stale("crm", "Customer", "key:email", ["a"]) == {}


async def test_size_is_bounded() -> None:
    cache = RecordCache({"crm": CacheSettings(max_entries=3)})
    await cache.store("crm", "Customer", "id", {str(i): [] for i in range(10)})
    assert len(cache._local["crm"]) == 3


async def test_cache_hits_skip_the_source_and_carry_their_age() -> None:
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com")])
    gw = build(crm, cache=CacheSettings(ttl=30))
    await Request(gw).lookup("Customer", "key:email", ["a@x.com", "none@x.com"])
    request = Request(gw)
    (record,) = await request.lookup("Customer", "key:email", ["a@x.com", "none@x.com"])
    assert len(crm.calls) == 1 and request.stats["crm"].cache_hits == 2 and request.stats["crm"].calls == 0
    freshness = request.freshness(record)
    assert not freshness.stale and freshness.age is not None and freshness.age < 1


async def test_stale_if_error_serves_marked_records_inside_the_window_only() -> None:
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com")])
    gw = build(crm, cache=CacheSettings(ttl=0.05, stale_if_error=0.3), retries=0)
    await Request(gw).lookup("Customer", "key:email", ["a@x.com"])
    await asyncio.sleep(0.1)
    crm.fail = True
    request = Request(gw)
    (record,) = await request.lookup("Customer", "key:email", ["a@x.com"])
    assert request.freshness(record).stale and request.freshness(record).age >= 0.1  # type: ignore[operator]
    stats = request.stats["crm"]
    assert (stats.stale, stats.errors, [e.code for e in stats.covered]) == (1, [], ["SOURCE_UNAVAILABLE"])
    assert stats.as_json()["ok"] is True and stats.as_json()["error"]["code"] == "SOURCE_UNAVAILABLE"
    await asyncio.sleep(0.3)
    late = Request(gw)
    assert await late.lookup("Customer", "key:email", ["a@x.com"]) == []
    assert [e.code for e in late.failures()] == ["SOURCE_UNAVAILABLE"]


async def test_ttl_zero_always_asks_the_source_and_keeps_its_answer_for_errors() -> None:
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com")])
    gw = build(crm, cache=CacheSettings(ttl=0, stale_if_error=60), retries=0)
    for _ in range(3):
        request = Request(gw)
        (record,) = await request.lookup("Customer", "key:email", ["a@x.com"])
        assert request.stats["crm"].cache_hits == 0 and request.freshness(record).age is None  # live
    assert len(crm.calls) == 3
    crm.fail = True
    request = Request(gw)
    (record,) = await request.lookup("Customer", "key:email", ["a@x.com"])
    assert request.freshness(record).stale and request.failures() == []
    assert [e.code for e in request.stats["crm"].covered] == ["SOURCE_UNAVAILABLE"]


def test_a_cache_that_would_keep_nothing_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="would keep nothing"):
        CacheSettings(ttl=0, stale_if_error=0)


async def test_errors_are_never_cached() -> None:
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com")], fail=True)
    gw = build(crm, cache=CacheSettings(ttl=30), retries=0)
    await Request(gw).lookup("Customer", "key:email", ["a@x.com"])
    crm.fail = False
    request = Request(gw)
    assert [r.local_id for r in await request.lookup("Customer", "key:email", ["a@x.com"])] == ["C1"]
    assert request.stats["crm"].cache_hits == 0


async def test_redis_level_is_shared_by_gateway_processes() -> None:
    require_service("127.0.0.1", 6379, "Redis")
    source = f"crm{uuid.uuid4().hex[:8]}"
    settings = {source: CacheSettings(ttl=30, stale_if_error=60)}
    one = RecordCache(settings, RedisCache("redis://127.0.0.1:6379/0"))
    two = RecordCache(settings, RedisCache("redis://127.0.0.1:6379/0"))
    try:
        await one.store(source, "Purchase", "id", {"7": [RICH], "8": []})
        found = await two.fresh(source, "Purchase", "id", ["7", "8", "9"])
        assert set(found) == {"7", "8"} and found["8"].records == ()
        assert dict(found["7"].records[0].fields) == dict(RICH.fields)
        ttl = await two.shared._client.pttl(RedisCache.key((source, "Purchase", "id", "7")))  # type: ignore[union-attr]
        assert 80_000 < ttl <= 90_000
    finally:
        await one.close()
        await two.close()


async def test_a_dead_redis_costs_hits_not_answers() -> None:
    cache = RecordCache({"crm": CacheSettings()}, RedisCache("redis://127.0.0.1:1/0", timeout=0.1))
    started = time.perf_counter()
    await cache.store("crm", "Customer", "id", {"1": [RICH]})
    assert set(await cache.fresh("crm", "Customer", "id", ["1", "2"])) == {"1"}
    assert await cache.fresh("crm", "Customer", "id", ["3"]) == {}
    assert time.perf_counter() - started < 0.5
    await cache.close()
