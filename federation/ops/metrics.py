"""Prometheus metrics (prometheus-client). With several worker processes the registry is
aggregated across them (prometheus multiprocess mode, PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
from bisect import bisect_left

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

__all__ = [
    "BREAKER_STATE",
    "CACHE",
    "COALESCED",
    "CONTENT_TYPE",
    "IN_FLIGHT",
    "QUEUED",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SOURCE_CALLS",
    "SOURCE_SECONDS",
    "TALLY",
    "RequestTally",
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
QUEUED = Gauge("onepane_source_queued", "Calls waiting for a free slot of a busy source", ["source"],
               multiprocess_mode="livesum")


class RequestTally:
    """Requests of the compiled path, counted in plain dicts and added to `REQUESTS`,
    `REQUEST_SECONDS` and `COALESCED` in bulk by `flush`; every request's source calls likewise
    (`SOURCE_CALLS`, `SOURCE_SECONDS`).

    prometheus-client takes a lock per `inc` and per histogram bucket and sum (and writes a shared
    file per value with several workers): three of each per request, 4 % of a small request's time
    under load. Here a request is two dict updates. `flush` runs before every scrape in this process
    and once a second in every process (server.py), so a scrape lags another worker by at most a
    second. A histogram has no bulk `observe`; its bucket and sum values are what `observe` itself
    increments (checked by tests/unit/test_metrics_tally.py against `observe`).
    """

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], int] = {}
        self._latency: dict[str, list[float]] = {}  # operation → count per bucket (+Inf last), then the sum
        self._coalesced: dict[str, int] = {}
        # Source calls the same way (`SOURCE_CALLS`, `SOURCE_SECONDS`): a request makes several.
        self._calls: dict[tuple[str, str], int] = {}
        self._call_latency: dict[str, list[float]] = {}

    def request(self, operation: str, outcome: str, seconds: float) -> None:
        key = (operation, outcome)
        self._requests[key] = self._requests.get(key, 0) + 1
        _observe(self._latency, operation, seconds)

    def coalesced(self, operation: str) -> None:
        self._coalesced[operation] = self._coalesced.get(operation, 0) + 1

    def source_call(self, source: str, outcome: str | None, seconds: float) -> None:
        """One call to `source` that ended with `outcome` ("ok" or the error's code; None: not
        counted, a cancelled call) after `seconds`."""
        if outcome is not None:
            key = (source, outcome)
            self._calls[key] = self._calls.get(key, 0) + 1
        _observe(self._call_latency, source, seconds)

    def flush(self) -> None:
        requests, latency, coalesced = self._requests, self._latency, self._coalesced
        calls, call_latency = self._calls, self._call_latency
        self._requests, self._latency, self._coalesced, self._calls, self._call_latency = {}, {}, {}, {}, {}
        for (operation, outcome), count in requests.items():
            REQUESTS.labels(operation, outcome).inc(count)
        _add(REQUEST_SECONDS, latency)
        for operation, count in coalesced.items():
            COALESCED.labels(operation).inc(count)
        for (source, outcome), count in calls.items():
            SOURCE_CALLS.labels(source, outcome).inc(count)
        _add(SOURCE_SECONDS, call_latency)


def _observe(rows: dict[str, list[float]], label: str, seconds: float) -> None:
    row = rows.get(label)
    if row is None:
        row = rows[label] = [0.0] * (len(_BUCKETS) + 2)
    row[bisect_left(_BUCKETS, seconds)] += 1  # the first bucket whose bound is >= seconds, as `observe`
    row[-1] += seconds


def _add(histogram: Histogram, rows: dict[str, list[float]]) -> None:
    for label, row in rows.items():
        child = histogram.labels(label)
        for bucket, observed in zip(child._buckets, row[:-1], strict=True):
            if observed:
                bucket.inc(observed)
        child._sum.inc(row[-1])


TALLY = RequestTally()


def render() -> bytes:
    """The metrics text; summed over worker processes when running several."""
    TALLY.flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
