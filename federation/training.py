"""`federation identity train CONFIG`: sample each source through its connector, train, write the model.

Every source that maps the entity is read once, through the same connector the gateway uses
(`search` with no condition and a row limit: the first `sample` records each source returns,
capped by the source's own `max_rows`). A source that cannot be read stops the training: a model
trained on some of the sources would be refused at start-up anyway, so nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from federation.config.models import Config
from federation.contract import SearchRequest
from federation.engine.gateway import Gateway
from federation.identity.fellegi import IdentityModel
from federation.identity.training import train
from federation.records import Record

__all__ = ["TrainingError", "model_path", "train_from_config"]

Progress = Callable[[str], None]


class TrainingError(Exception):
    """Training could not run (nothing to train, a source unreadable); the message says which."""


def model_path(config: Config, entity: str) -> Path | None:
    """Where the config says the entity's model lives (relative to the config file), if it says."""
    identity = config.model.entities[entity].identity
    if identity is None or identity.model is None:
        return None
    return (config.file.parent / identity.model).resolve()


def unloaded_gateway(config: Config, entity: str) -> Gateway:
    """The config's gateway without `entity`'s model file (it may not exist yet), not started."""
    decl = config.model.entities[entity]
    assert decl.identity is not None
    blank = config.model.model_copy(update={"entities": {**config.model.entities, entity: decl.model_copy(
        update={"identity": decl.identity.model_copy(update={"model": None})})}})
    return Gateway.from_config(config.model_copy(update={"model": blank}))


async def train_from_config(config: Config, entity: str, sample: int, random_pairs: int,
                            progress: Progress) -> IdentityModel:
    """Sample every source of `entity` and train its rules; TrainingError names what is wrong."""
    decl = config.model.entities.get(entity)
    if decl is None:
        raise TrainingError(f"no entity '{entity}' (valid: {', '.join(sorted(config.model.entities))})")
    if decl.identity is None or not decl.identity.rules:
        raise TrainingError(f"{entity} has no identity.rules to train")
    gateway = unloaded_gateway(config, entity)
    await gateway.start()
    samples: dict[str, list[Record]] = {}
    failed: list[str] = []
    try:
        for source in gateway.sources_for(entity):
            started = time.monotonic()
            progress(f"sampling {entity} from {source} (up to {sample:,} records)…")
            try:
                found = await gateway.connectors[source].search(entity, SearchRequest(limit=sample))
            except Exception as exc:  # any connector failure: report the source, train on none
                failed.append(f"{source} ({type(exc).__name__}: {str(exc)[:200]})")
                continue
            samples[source] = list(found)[:sample]
            progress(f"  {source}: {len(samples[source]):,} records in {time.monotonic() - started:.1f} s")
    finally:
        await gateway.close()
    if failed:
        raise TrainingError(f"cannot read {', '.join(failed)}; trained on none, nothing written")
    if not samples:
        raise TrainingError(f"no source maps {entity}")
    return train(entity, decl.identity, decl, samples, random_pairs=random_pairs, progress=progress)
