"""The in-process level: bounded, and entries live for TTL plus the stale window."""

from __future__ import annotations

import time

from cachetools import TTLCache

from federation.cache.entry import CacheKey, Entry

__all__ = ["LocalCache"]


class LocalCache:
    """A cachetools TTLCache on wall-clock time; the caller decides what is fresh and what is stale."""

    def __init__(self, max_entries: int, lifetime: float) -> None:
        self._entries: TTLCache[CacheKey, Entry] = TTLCache(max_entries, lifetime, timer=time.time)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: CacheKey, entry: Entry) -> None:
        self._entries[key] = entry

    def clear(self) -> None:
        self._entries.clear()
