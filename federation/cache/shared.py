"""The optional Redis level, shared by gateway processes; a Redis outage only costs cache hits."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from federation.cache.entry import CacheKey, Entry
from federation.cache.serialize import dumps_records, loads_records

__all__ = ["RedisCache"]

log = logging.getLogger("federation.cache")
PREFIX = "onepane:records:v1:"
COOL_OFF = 5.0  # seconds without Redis after it failed, so a dead Redis adds no latency


class RedisCache:
    """Entries as orjson bytes under `onepane:records:v1:<source>:<entity>:<by>:<hash of value>`."""

    def __init__(self, url: str, timeout: float = 0.25) -> None:
        import redis.asyncio as aioredis

        self._client: Any = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._down_until = 0.0

    @staticmethod
    def key(key: CacheKey) -> str:
        source, entity, by, value = key
        digest = hashlib.blake2b(value.encode(), digest_size=16).hexdigest()
        return f"{PREFIX}{source}:{entity}:{by}:{digest}"

    async def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, Entry]:
        if not keys or self._resting():
            return {}
        try:
            blobs = await self._client.mget([self.key(k) for k in keys])
        except Exception as exc:
            self._failed(exc)
            return {}
        found = {}
        for key, blob in zip(keys, blobs, strict=True):
            decoded = loads_records(blob) if blob is not None else None
            if decoded is not None:
                found[key] = Entry(*decoded)
        return found

    async def put_many(self, entries: Mapping[CacheKey, Entry], lifetime: float) -> None:
        if not entries or self._resting():
            return
        millis = max(1, int(lifetime * 1000))
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, entry in entries.items():
                    pipe.set(self.key(key), dumps_records(entry.records, entry.stored_at), px=millis)
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)

    async def close(self) -> None:
        await self._client.aclose()

    def _resting(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + COOL_OFF
        log.warning("redis cache unavailable for %.0f s (%s)", COOL_OFF, type(exc).__name__)
