"""Pydantic models of the config file; a source's own options are validated by its connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from federation.identity.overrides import IdentitySettings
from federation.model.declaration import ModelDecl
from federation.regions import region_or_error
from federation.security.settings import SecuritySettings

__all__ = ["BreakerSettings", "CacheSettings", "Config", "GatewaySettings", "GuardSettings", "SourceSettings",
           "SqlSettings"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqlSettings(_Closed):
    """`federation sql` and `/sql`: what one statement may cost (docs/analysts.md)."""

    default_rows: int = Field(default=10_000, ge=1, description="rows returned when the caller asks for no limit")
    max_rows: int = Field(default=1_000_000, ge=1, description="the most rows a caller may ask for")
    default_seconds: float = Field(default=60.0, gt=0, description="time for fetching and running one statement")
    max_seconds: float = Field(default=600.0, gt=0, description="the most time a caller may ask for")
    memory_limit: str = Field(default="1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
                              description="the embedded engine's memory cap for one statement")


class GatewaySettings(_Closed):
    """Engine-wide settings."""

    max_hops: int = Field(default=3, ge=0, le=10, description="identity expansion rounds")
    region: str = Field(default="GB", description="default region for phone numbers (ISO code or country name)")
    request_timeout: float = Field(default=10.0, gt=0, description="deadline for one request")
    max_search_rows: int = Field(default=1000, gt=0, description="rows a source may return to a search")
    graphiql: bool = True
    redis_url: str | None = Field(default=None, description="shared second-level record cache, redis://host:port/db")
    identity: IdentitySettings = Field(default_factory=IdentitySettings, description="override store")
    tracing_otlp_endpoint: str | None = Field(default=None, description="export OpenTelemetry spans (OTLP/HTTP)")
    response_extensions: bool = Field(default=True, description="add `extensions.sources` to every answer")
    compiled_plans: bool = Field(default=True, description="answer plain-data queries without per-field resolvers")
    sql: SqlSettings = Field(default_factory=SqlSettings, description="limits of federation sql and /sql")
    coalesce_operations: bool = Field(
        default=True, description="identical compiled queries sent while one awaits its first source share its answer")
    key_groups: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="named groups of sources that share a numbering, for a key's "
        "`scope: {group: name}` (docs/identity.md)")

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: object) -> str:
        return region_or_error(value)


class BreakerSettings(_Closed):
    """Circuit breaker: opens at `failure_rate` over the last `window` calls (at least `min_calls`)."""

    failure_rate: float = Field(default=0.5, gt=0, le=1)
    window: int = Field(default=20, ge=1, le=1000)
    min_calls: int = Field(default=10, ge=1)
    open_seconds: float = Field(default=30.0, gt=0)
    probes: int = Field(default=1, ge=1, le=10)


class RetryBudgetSettings(_Closed):
    """Retries to one source may be at most `ratio` of its calls (plus `min_per_second`) over the
    last `window_seconds`: when a source struggles, retries stop multiplying its load."""

    ratio: float = Field(default=0.2, ge=0, le=1, description="retries per call allowed over the window")
    min_per_second: float = Field(default=10.0, ge=0, description="retries always allowed, per second")
    window_seconds: float = Field(default=10.0, gt=0, le=300)


class GuardSettings(_Closed):
    """How calls to one source are guarded: retries, backoff, breaker, bulkhead, coalescing."""

    retries: int = Field(default=2, ge=0, le=10, description="extra attempts for retryable errors")
    backoff: float = Field(default=0.1, ge=0, description="seconds; full-jitter exponential multiplier")
    backoff_max: float = Field(default=1.0, ge=0, description="seconds; cap of one backoff wait")
    max_concurrent: int = Field(default=25, ge=1, description="bulkhead: concurrent calls; more wait for a slot")
    request_share: float = Field(default=0.5, gt=0, le=1, description="share of max_concurrent one request may "
                                 "hold (aliases, list fan-out); its further calls wait for its own")
    coalesce: bool = Field(default=True, description="identical concurrent lookups share one call")
    breaker: BreakerSettings = BreakerSettings()
    retry_budget: RetryBudgetSettings | None = Field(
        default=RetryBudgetSettings(), description="cap on retries per calls; null or false turns it off")

    @field_validator("retry_budget", mode="before")
    @classmethod
    def _budget_off(cls, value: object) -> object:
        return None if value is False or value == "off" else value  # YAML `off` reads as false


class CacheSettings(_Closed):
    """Record cache for one source: fresh for `ttl` s, then served on error for `stale_if_error` s.

    `ttl: 0` never answers from the cache while the source answers: every lookup goes to the
    source, and its last good answer is kept only for when a call fails (HTTP's
    `max-age=0, stale-if-error=N`): for data that must be live but is better stale than missing.
    """

    ttl: float = Field(default=30.0, ge=0)
    stale_if_error: float = Field(default=300.0, ge=0)
    max_entries: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _keeps_something(self) -> CacheSettings:
        if self.ttl == 0 and self.stale_if_error == 0:
            raise ValueError("ttl 0 and stale_if_error 0 would keep nothing: give one of them seconds, "
                             "or remove `cache:` from this source")
        return self


class SourceSettings(_Closed):
    """What every source has, whatever its connector."""

    type: str
    description: str = ""
    timeout: float = Field(default=3.0, gt=0, description="seconds per call")
    health_interval: float = Field(default=5.0, ge=0, le=300,
                                   description="seconds a readiness probe's answer is reused (0: every time)")
    guard: GuardSettings = GuardSettings()
    cache: CacheSettings | None = Field(default=None, description="record cache; off unless given")
    options: dict[str, Any] = Field(default_factory=dict)


class Config(_Closed):
    """A whole validated config."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    file: Path
    gateway: GatewaySettings = GatewaySettings()
    model: ModelDecl
    sources: dict[str, SourceSettings]
    security: SecuritySettings | None = None
    validated_options: dict[str, Any] = Field(default_factory=dict)
