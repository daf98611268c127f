"""Per-source record caching: fresh hits, writes after a successful call, stale reads on error."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from federation.cache.entry import CacheKey, Entry
from federation.cache.local import LocalCache
from federation.cache.shared import RedisCache
from federation.config.models import CacheSettings
from federation.records import Record

__all__ = ["RecordCache"]


class RecordCache:
    """One local level per cached source, optionally backed by a Redis level shared by processes."""

    def __init__(self, settings: Mapping[str, CacheSettings], shared: RedisCache | None = None) -> None:
        self.settings = dict(settings)
        self.shared = shared
        self._local = {name: LocalCache(s.max_entries, s.ttl + s.stale_if_error) for name, s in self.settings.items()}

    def enabled(self, source: str) -> bool:
        return source in self.settings

    async def fresh(self, source: str, entity: str, by: str, values: Iterable[str]) -> dict[str, Entry]:
        """Entries younger than the source's TTL, by value (none at all with `ttl: 0`: no read)."""
        ttl = self.settings[source].ttl
        return await self._read(source, entity, by, values, ttl) if ttl > 0 else {}

    async def stale(self, source: str, entity: str, by: str, values: Iterable[str]) -> dict[str, Entry]:
        """Entries still inside the source's stale-if-error window, by value."""
        settings = self.settings[source]
        return await self._read(source, entity, by, values, settings.ttl + settings.stale_if_error)

    async def store(self, source: str, entity: str, by: str, found: Mapping[str, Sequence[Record]]) -> None:
        """What one successful call returned per value (an empty answer is an answer, too)."""
        now = time.time()
        entries = {(source, entity, by, v): Entry(tuple(rs), now) for v, rs in found.items()}
        local = self._local[source]
        for key, entry in entries.items():
            local.put(key, entry)
        if self.shared is not None:
            settings = self.settings[source]
            await self.shared.put_many(entries, settings.ttl + settings.stale_if_error)

    def clear(self) -> None:
        for local in self._local.values():
            local.clear()

    async def close(self) -> None:
        if self.shared is not None:
            await self.shared.close()

    async def _read(self, source: str, entity: str, by: str, values: Iterable[str],
                    max_age: float) -> dict[str, Entry]:
        """Entries no older than `max_age`: local first, then the shared level for the rest."""
        local = self._local[source]
        now = time.time()
        found: dict[str, Entry] = {}
        missing: list[CacheKey] = []
        for value in values:
            key = (source, entity, by, value)
            entry = local.get(key)
            if entry is not None and entry.age(now) <= max_age:
                found[value] = entry
            else:
                missing.append(key)
        if missing and self.shared is not None:
            for key, entry in (await self.shared.get_many(missing)).items():
                if entry.age(now) <= max_age:
                    local.put(key, entry)
                    found[key[3]] = entry
        return found
