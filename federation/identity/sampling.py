"""One bounded, read-only sample per (source, entity) for `federation check`'s identity probes.

The key-scope probe (`collisions.py`) and the uniqueness probe (`uniqueness.py`) read the same
records: each source's first few hundred of an entity. `SourceSamples` takes each sample once,
however many probes ask for it, so `check` sends one search per source and entity, not one per
probe. A source that fails or is slow gives an empty sample: the probes are advice, and the
source's health is reported by `check`'s own table.

Nothing here imports a connector: it speaks the `Connector` contract only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from federation.contract import Connector, SearchRequest
from federation.records import Record

__all__ = ["SourceSamples"]


class SourceSamples:
    """Up to `per_source` records of each (source, entity) asked for, each read at most once."""

    def __init__(self, connectors: Mapping[str, Connector], timeouts: Mapping[str, float],
                 per_source: int = 300) -> None:
        self.connectors = connectors
        self.timeouts = timeouts
        self.per_source = per_source
        self._taken: dict[tuple[str, str], asyncio.Future[list[Record]]] = {}

    async def of(self, source: str, entity: str) -> list[Record]:
        """The sample of `entity` in `source` (empty when the source fails or is slow)."""
        taken = self._taken.get((source, entity))
        if taken is None:
            taken = self._taken[(source, entity)] = asyncio.ensure_future(self._read(source, entity))
        return await taken

    async def _read(self, source: str, entity: str) -> list[Record]:
        limit = self.per_source
        try:
            async with asyncio.timeout(self.timeouts.get(source, 3.0)):
                return list(await self.connectors[source].search(entity, SearchRequest((), (), limit)))[:limit]
        except Exception:  # a source that cannot be sampled is reported by the health table, not here
            return []
