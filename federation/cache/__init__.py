"""The record cache: per (source, entity, by, value), fresh for a TTL, served stale only on error."""

from federation.cache.entry import CacheKey, Entry
from federation.cache.local import LocalCache
from federation.cache.records import RecordCache
from federation.cache.serialize import dumps_records, loads_records
from federation.cache.shared import RedisCache

__all__ = ["CacheKey", "Entry", "LocalCache", "RecordCache", "RedisCache", "dumps_records", "loads_records"]
