"""Rate limits shared in Redis (`gateway.redis_url`): one budget per principal for every process
and instance; a dead Redis falls back to per-process buckets instead of failing requests."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from pathlib import Path

import yaml

from federation.demo.run import demo_config_text
from federation.security.ratelimit import SharedLimiter
from tests.conftest import require_service
from tests.stories.conftest import LiveDemo, post_raw

REDIS = "redis://127.0.0.1:6379/0"
QUERY = '{ customer(id: "crm:C-1001") { name } }'


def _principal() -> str:
    return f"api_key:test-{uuid.uuid4().hex[:12]}"  # a fresh bucket: nothing left from another run


async def test_two_processes_draw_on_one_bucket() -> None:
    require_service("127.0.0.1", 6379, "Redis")
    one, two = SharedLimiter(REDIS, rate=0.01, burst=3), SharedLimiter(REDIS, rate=0.01, burst=3)
    principal = _principal()
    try:
        waits = [await limiter.take(principal) for limiter in (one, two, one, two)]
        assert waits[:3] == [0.0, 0.0, 0.0]
        assert 90 < waits[3] <= 100  # one token per 100 s, none left
        assert await one.take(_principal()) == 0.0  # another principal has its own bucket
    finally:
        await one.close()
        await two.close()


async def test_the_shared_bucket_refills_at_its_rate() -> None:
    require_service("127.0.0.1", 6379, "Redis")
    limiter = SharedLimiter(REDIS, rate=20, burst=1)
    principal = _principal()
    try:
        assert await limiter.take(principal) == 0.0
        wait = await limiter.take(principal)
        assert 0 < wait <= 0.05
        await asyncio.sleep(wait + 0.02)
        assert await limiter.take(principal) == 0.0
    finally:
        await limiter.close()


async def test_a_dead_redis_limits_per_process_without_delay() -> None:
    limiter = SharedLimiter("redis://127.0.0.1:1/0", rate=0.01, burst=2, timeout=0.1)
    started = time.perf_counter()
    try:
        waits = [await limiter.take("api_key:agent-ui") for _ in range(3)]
    finally:
        await limiter.close()
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0
    assert time.perf_counter() - started < 0.5  # one failed attempt, then the local buckets


def test_two_gateways_share_one_principals_budget(tmp_path: Path) -> None:
    require_service("127.0.0.1", 6379, "Redis")
    key, name = f"key-{uuid.uuid4().hex}", f"agent-{uuid.uuid4().hex[:8]}"
    config = yaml.safe_load(demo_config_text())
    config["gateway"]["redis_url"] = REDIS
    config["security"] = {
        "api_keys": [{"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "role": "agent"}],
        "roles": {"agent": {"allow": ["*"]}},
        "rate_limit": {"rate": 0.1, "burst": 2},
    }
    text = yaml.safe_dump(config, sort_keys=False)
    one, two = LiveDemo(tmp_path / "one", text), LiveDemo(tmp_path / "two", text)
    try:
        headers = {"X-Api-Key": key}
        statuses = [post_raw(live.handle.url, QUERY, headers=headers)[0] for live in (one, two, one)]
        assert statuses == [200, 200, 429]  # per process, the third would have passed
    finally:
        one.close()
        two.close()
