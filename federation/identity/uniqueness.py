"""`federation check`'s uniqueness probe: is a linking key unique in each source that maps it?

A key declared `unique: true` in a source's mapping is never looked up again in that source by
identity (`Gateway.key_sources`): a record's own value could only find the record itself. That
is a fact about the source's data the config asserts. Each source that maps a linking key is
sampled (one bounded, read-only search of `per_source` records within its timeout, as the
key-scope probe does) and the values two sampled records share are counted:

- declared unique, but sampled records share a value: a **warning**, the declaration is false
  (records that share it are still merged when both are fetched, but one no longer finds the other);
- not declared, and no sampled value is shared: the key **may be unique**, which `check` reports
  next to a lookup by that key that would read a whole table (declaring it spares identity that lookup).

Nothing here imports a connector: it speaks the `Connector` contract only.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from federation.contract import Connector
from federation.identity.sampling import SourceSamples
from federation.model.declaration import ModelDecl

__all__ = ["Uniqueness", "sample_uniqueness"]


@dataclass(frozen=True, slots=True)
class Uniqueness:
    """One linking key in one source: declared unique or not, and what a sample of it shows."""

    entity: str
    key: str
    source: str
    declared: bool
    sampled: int  # sampled records holding the key
    shared: int  # values held by two or more sampled records
    examples: tuple[str, ...]

    @property
    def false(self) -> bool:
        """Declared unique, yet two sampled records share a value."""
        return self.declared and self.shared > 0

    @property
    def may_be_unique(self) -> bool:
        """Not declared, and no value is shared among the sampled records that hold one."""
        return not self.declared and self.sampled > 1 and self.shared == 0

    def message(self) -> str:
        where = f"sources.{self.source}.entities.{self.entity}.keys.{self.key}"
        return (f"{where}: declared unique: true, but {self.shared} value(s) are shared by two or more of "
                f"{self.sampled} sampled records (e.g. {', '.join(self.examples)}); records that share a value "
                "are still merged when both are fetched, but one no longer finds the other: remove unique: true")


async def sample_uniqueness(model: ModelDecl, connectors: Mapping[str, Connector], timeouts: Mapping[str, float],
                            per_source: int = 300, samples: SourceSamples | None = None) -> list[Uniqueness]:
    """Every (linking key, source mapping it) with what a bounded sample of the source shows; `samples`
    shares its reads with `check`'s other probes (a fresh one of `per_source` records otherwise)."""
    samples = samples if samples is not None else SourceSamples(connectors, timeouts, per_source)
    wanted = [(entity, name, caps) for entity, decl in model.entities.items() if decl.linking_keys
              for name, connector in connectors.items()
              if (caps := connector.capabilities().entities.get(entity)) is not None and caps.searchable]
    sampled = await asyncio.gather(*(samples.of(name, entity) for entity, name, _ in wanted))
    out: list[Uniqueness] = []
    for (entity, name, caps), records in zip(wanted, sampled, strict=True):
        for key in model.entities[entity].linking_keys:
            if caps.keys is not None and key not in caps.keys:
                continue
            holders = [r for r in records if r.keys.get(key)]
            counts = Counter(v for r in holders for v in set(r.keys[key]))
            shared = sorted(v for v, n in counts.items() if n > 1)
            out.append(Uniqueness(entity, key, name, key in caps.unique_keys, len(holders), len(shared),
                                  tuple(shared[:3])))
    return out
