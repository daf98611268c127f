"""The gateway: connectors built from config, opened and closed together, and their capabilities."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import orjson

from federation import registry
from federation.cache import RecordCache, RedisCache
from federation.config.models import Config
from federation.contract import Capabilities, Connector, ConnectorContext, EntityCapabilities, Health, ValueLimit
from federation.errors import ConfigError, ConfigProblem
from federation.identity.fellegi import IdentityModel, ModelError
from federation.identity.matching import blocking_problems
from federation.identity.model_file import load_model
from federation.identity.overrides import OverrideStore
from federation.identity.scope import Scopes
from federation.resilience import SourceGuard
from federation.resilience.share import share_of

__all__ = ["DEGRADED_ENV", "IDENTITY_DEGRADED_ENV", "Gateway", "degraded_from_env"]

# `federation serve --allow-degraded` hands the sources whose mapping check failed to its worker
# processes through the environment they inherit: source name → the problems found.
DEGRADED_ENV = "ONEPANE_DEGRADED_SOURCES"
# ... and tells them an identity model that cannot be used means exact keys only, not a refusal.
IDENTITY_DEGRADED_ENV = "ONEPANE_IDENTITY_DEGRADED"


def degraded_from_env() -> dict[str, str]:
    """The sources `serve --allow-degraded` started without a valid mapping (none: {})."""
    raw = os.environ.get(DEGRADED_ENV)
    if not raw:
        return {}
    found = orjson.loads(raw)
    return {str(name): str(problem) for name, problem in found.items()} if isinstance(found, dict) else {}

log = logging.getLogger("federation.gateway")


class Gateway:
    """Owns the connectors for one config; one `Request` per GraphQL request uses them."""

    def __init__(self, config: Config, connectors: Mapping[str, Connector]) -> None:
        self.config = config
        self.model = config.model
        self.connectors = dict(connectors)
        self.source_order = {name: i for i, name in enumerate(self.connectors)}
        self.capabilities: dict[str, Capabilities] = {n: c.capabilities() for n, c in self.connectors.items()}
        self.scopes = Scopes(config.model, config.gateway.key_groups)
        self._key_sources: dict[tuple[str, str, str], list[str]] = {}
        self._scoped: dict[tuple[str, str, tuple[tuple[str, str], ...]], bool] = {}
        self.timeouts = {name: s.timeout for name, s in config.sources.items()}
        # Each source's last readiness answer and when it was taken, reused for its health_interval.
        self._ready: dict[str, tuple[float, Health]] = {}
        # Sources served although their mapping does not match them (`serve --allow-degraded`).
        self.degraded: dict[str, str] = {}
        self.guards = {name: SourceGuard(name, s.timeout, s.guard) for name, s in config.sources.items()}
        self.value_limits: dict[str, Mapping[str, Mapping[str, ValueLimit]]] = {}
        self.request_shares = {name: share_of(s.guard.max_concurrent, s.guard.request_share)
                               for name, s in config.sources.items()}
        redis_url = config.gateway.redis_url
        self.overrides = OverrideStore(config.gateway.identity.overrides, config.file.parent.resolve())
        self.cache = RecordCache({n: s.cache for n, s in config.sources.items() if s.cache is not None},
                                 RedisCache(redis_url) if redis_url else None)
        # Entities whose model could not be used (`serve --allow-degraded`): exact keys only.
        self.identity_warnings: dict[str, str] = {}
        self.identity_models = self._identity_models()

    @classmethod
    def from_config(cls, config: Config) -> Gateway:
        """Build every connector; mapping problems from all sources are reported together."""
        context = ConnectorContext(model=config.model, base_dir=config.file.parent.resolve(),
                                   region=config.gateway.region)
        connectors: dict[str, Connector] = {}
        problems: list[ConfigProblem] = []
        for name, settings in config.sources.items():
            connector = registry.load(settings.type)(name, config.validated_options[name], context)
            for problem in connector.problems():
                path, _, what = problem.partition(": ")
                problems.append(ConfigProblem(str(config.file), f"sources.{name}.{path}", what))
            connectors[name] = connector
        capabilities = {name: c.capabilities() for name, c in connectors.items()}
        problems += [ConfigProblem(str(config.file), path, what, valid)
                     for path, what, valid in blocking_problems(config.model, capabilities)]
        if problems:
            raise ConfigError(problems)
        return cls(config, connectors)

    def _identity_models(self) -> dict[str, IdentityModel]:
        """Each entity's trained identity model (`identity.model`), checked against its rules and sources."""
        out: dict[str, IdentityModel] = {}
        problems = []
        for entity, decl in self.model.entities.items():
            if decl.identity is None or decl.identity.model is None:
                continue
            path = (self.config.file.parent / decl.identity.model).resolve()
            try:
                out[entity] = load_model(path, entity, decl.identity, self.sources_for(entity))
            except ModelError as exc:
                if os.environ.get(IDENTITY_DEGRADED_ENV):
                    self.identity_warnings[entity] = f"{entity}: exact keys only, no fuzzy rules: {exc}"
                    log.warning("identity model unusable (--allow-degraded): %s", self.identity_warnings[entity])
                    continue
                problems.append(ConfigProblem(str(self.config.file), f"model.entities.{entity}.identity.model",
                                              str(exc)))
        if problems:
            raise ConfigError(problems)
        return out

    def entity_caps(self, source: str, entity: str) -> EntityCapabilities | None:
        return self.capabilities[source].entities.get(entity)

    def sources_for(self, entity: str, by: str | None = None) -> list[str]:
        """Sources that map `entity` (and can look it up `by`, when given), in priority order."""
        out = []
        for name in self.connectors:
            caps = self.entity_caps(name, entity)
            if caps is not None and (by is None or by in caps.lookups):
                out.append(name)
        return out

    def key_sources(self, entity: str, key: str, source: str) -> list[str]:
        """Sources to ask for records of `entity` sharing a `key` value held in `source`: those
        that look the key up and that the key's scope links `source` to, except `source` itself
        when the key is unique there (`unique: true`): that lookup could only find the record
        that holds the value."""
        found = self._key_sources.get((entity, key, source))
        if found is None:
            able = self.sources_for(entity, f"key:{key}")
            found = self.scopes.reaches(entity, key, source, able)
            caps = self.entity_caps(source, entity)
            if caps is not None and key in caps.unique_keys:
                found = [s for s in found if s != source]
            self._key_sources[(entity, key, source)] = found
        return found

    def relation_scoped(self, entity: str, keys: Mapping[str, str], target: str) -> bool:
        """True when a relation's `keys: {mine: theirs}` do not all link across every source."""
        memo = (entity, target, tuple(keys.items()))
        found = self._scoped.get(memo)
        if found is None:
            scopes = self.scopes
            found = self._scoped[memo] = not all(scopes.is_global(entity, mine) and scopes.is_global(target, theirs)
                                                 for mine, theirs in keys.items())
        return found

    async def start(self) -> None:
        await asyncio.gather(*(c.open() for c in self.connectors.values()))
        await self.read_value_limits()

    async def read_value_limits(self) -> None:
        """What each source's columns can hold (`Connector.value_limits`); a source that cannot say
        now (down at start) simply has no limits, and its calls go out as before."""
        found = await asyncio.gather(*(c.value_limits() for c in self.connectors.values()), return_exceptions=True)
        for name, limits in zip(self.connectors, found, strict=True):
            if isinstance(limits, BaseException):
                log.warning("source '%s': column limits not read (%s)", name, type(limits).__name__)
                continue
            self.value_limits[name] = limits

    async def close(self) -> None:
        """Close every connector in reverse order; one failing close does not stop the others."""
        failures = []
        try:
            await self.cache.close()
        except Exception as exc:
            failures.append(f"cache: {type(exc).__name__}")
        for name, connector in reversed(self.connectors.items()):
            try:
                await connector.close()
            except Exception as exc:
                failures.append(f"{name}: {type(exc).__name__}")
        if failures:
            log.warning("closing sources failed: %s", "; ".join(failures))

    def breaker(self, name: str) -> dict[str, Any]:
        """The source's breaker: state, failure rate over its recent calls, and how many calls."""
        guard = self.guards[name]
        breaker = guard.breaker
        return {"state": breaker.state.value, "errorRate": round(breaker.error_rate, 3),
                "recentCalls": breaker.recent_calls,
                "retriesRefused": guard.budget.refused if guard.budget is not None else 0}

    async def health(self) -> dict[str, dict[str, Any]]:
        """Probe every source concurrently, each within its timeout."""
        names = list(self.connectors)
        results = await asyncio.gather(*(self._probe(n) for n in names))
        return dict(zip(names, results, strict=True))

    async def _probe(self, name: str) -> dict[str, Any]:
        started = time.perf_counter()
        health = await self._readiness(name)
        if name in self.degraded:
            health = Health(ok=False, detail=f"not ready: its mapping does not match the source: {self.degraded[name]}")
        return {
            "ok": health.ok,
            "detail": health.detail,
            "mappingFault": health.mapping_fault,
            "kind": self.connectors[name].kind,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "breaker": self.breaker(name),
            **(age.as_json() if (age := self.connectors[name].data_age()) is not None else {}),
        }

    async def _readiness(self, name: str) -> Health:
        """The source's `ready()` answer, probed within its timeout at most once per health_interval."""
        settings = self.config.sources.get(name)
        interval = settings.health_interval if settings is not None else 0.0
        cached = self._ready.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < interval:
            return cached[1]
        try:
            async with asyncio.timeout(self.timeouts[name]):
                health = await self.connectors[name].ready()
        except TimeoutError:
            health = Health(ok=False, detail="timed out")
        except Exception as exc:
            health = Health(ok=False, detail=str(exc) if hasattr(exc, "source") else type(exc).__name__)
        self._ready[name] = (now, health)
        return health

