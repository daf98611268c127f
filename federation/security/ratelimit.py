"""Token bucket per principal: in process, or in Redis shared by every process and instance.

Written here rather than with the `limits` package: `limits` offers fixed and moving windows,
not a token bucket with a burst, and the Retry-After we answer comes straight from the bucket.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any, Protocol

__all__ = ["Limiter", "LocalLimiter", "SharedLimiter", "TokenBuckets", "limiter_for"]

log = logging.getLogger("federation.security")
PREFIX = "onepane:ratelimit:v1:"
COOL_OFF = 5.0  # seconds on the local buckets after Redis failed, so a dead Redis adds no latency


class TokenBuckets:
    """`rate` tokens per second up to `burst`; remembers at most `max_principals` buckets."""

    def __init__(self, rate: float, burst: int, max_principals: int = 100_000) -> None:
        self.rate, self.burst, self.max_principals = rate, burst, max_principals
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, principal: str, now: float | None = None) -> float:
        """0 when a token was taken, else the seconds until one will be available."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(principal, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[principal] = (tokens, now)
        if len(self._buckets) > self.max_principals:
            self._buckets.popitem(last=False)
        return wait


class Limiter(Protocol):
    async def take(self, principal: str) -> float:
        """0 when the request may go, else the seconds until it may."""
        ...

    async def close(self) -> None: ...


class LocalLimiter:
    """This process's buckets: with several workers or instances, each has its own budget."""

    def __init__(self, rate: float, burst: int) -> None:
        self.buckets = TokenBuckets(rate, burst)

    async def take(self, principal: str) -> float:
        return self.buckets.take(principal)

    async def close(self) -> None:
        return None


# The same bucket as TokenBuckets, atomically in Redis, on Redis's clock (one clock for every
# instance). A full bucket is the same as no bucket, so the key expires once it would be full.
# Returned as a string: Redis turns a Lua number into an integer.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""


class SharedLimiter:
    """One bucket per principal in Redis for every gateway process using that Redis.

    When Redis fails, this process's own buckets take over for a few seconds (a principal is
    still limited, per process) rather than every request failing or waiting on a dead Redis.
    """

    def __init__(self, url: str, rate: float, burst: int, timeout: float = 0.25) -> None:
        import redis.asyncio as aioredis

        self.rate, self.burst = rate, burst
        self._client: Any = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._take = self._client.register_script(_TAKE)
        self._local = TokenBuckets(rate, burst)
        self._down_until = 0.0

    async def take(self, principal: str) -> float:
        if time.monotonic() < self._down_until:
            return self._local.take(principal)
        try:
            return float(await self._take(keys=[PREFIX + principal], args=[self.rate, self.burst]))
        except Exception as exc:
            self._down_until = time.monotonic() + COOL_OFF
            log.warning("redis rate limits unavailable for %.0f s (%s); limiting per process", COOL_OFF,
                        type(exc).__name__)
            return self._local.take(principal)

    async def close(self) -> None:
        await self._client.aclose()


def limiter_for(rate: float, burst: int, shared: bool, redis_url: str | None) -> Limiter:
    """Shared in Redis when the gateway has one and the settings allow it, else per process."""
    if shared and redis_url:
        return SharedLimiter(redis_url, rate, burst)
    return LocalLimiter(rate, burst)
