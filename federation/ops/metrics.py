"""Prometheus metrics (prometheus-client). With several worker processes the registry is
aggregated across them (prometheus multiprocess mode, PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

__all__ = [
    "BREAKER_STATE",
    "CACHE",
    "COALESCED",
    "CONTENT_TYPE",
    "IN_FLIGHT",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SOURCE_CALLS",
    "SOURCE_SECONDS",
    "render",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("onepane_requests_total", "GraphQL requests by operation and outcome",
                   ["operation", "outcome"])
REQUEST_SECONDS = Histogram("onepane_request_seconds", "GraphQL request latency", ["operation"], buckets=_BUCKETS)
COALESCED = Counter("onepane_requests_coalesced_total",
                    "Requests answered by an identical operation already executing (compiled path)",
                    ["operation"])
SOURCE_CALLS = Counter("onepane_source_calls_total", "Calls to sources by outcome", ["source", "outcome"])
SOURCE_SECONDS = Histogram("onepane_source_call_seconds", "Source call latency (with retries)", ["source"],
                           buckets=_BUCKETS)
CACHE = Counter("onepane_cache_total", "Record cache results: hit, miss, stale", ["source", "result"])
BREAKER_STATE = Gauge("onepane_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", ["source"],
                      multiprocess_mode="max")
IN_FLIGHT = Gauge("onepane_source_in_flight", "Calls in flight per source", ["source"],
                  multiprocess_mode="livesum")


def render() -> bytes:
    """The metrics text; summed over worker processes when running several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
