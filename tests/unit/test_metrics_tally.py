"""The compiled path's request tally gives Prometheus the same series as counting each request."""

from __future__ import annotations

from prometheus_client import REGISTRY

from federation.ops.metrics import (
    _BUCKETS,
    COALESCED,
    REQUEST_SECONDS,
    REQUESTS,
    SOURCE_CALLS,
    SOURCE_SECONDS,
    RequestTally,
    render,
)

# On, below, between and above the bucket bounds (a value equal to a bound falls in that bucket).
SECONDS = [0.0, 0.0004, 0.001, 0.0011, 0.0025, 0.03, 0.05, 0.7, 9.99, 10.0, 10.5, 42.0]


def _series(operation: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        f"le={bound}": REGISTRY.get_sample_value("onepane_request_seconds_bucket", {"operation": operation,
                                                                                 "le": str(bound)})
        for bound in (*_BUCKETS, "+Inf")
    }
    out["sum"] = REGISTRY.get_sample_value("onepane_request_seconds_sum", {"operation": operation})
    out["count"] = REGISTRY.get_sample_value("onepane_request_seconds_count", {"operation": operation})
    for outcome in ("ok", "partial"):
        out[outcome] = REGISTRY.get_sample_value("onepane_requests_total", {"operation": operation,
                                                                            "outcome": outcome})
    out["coalesced"] = REGISTRY.get_sample_value("onepane_requests_coalesced_total", {"operation": operation})
    return out


def test_a_flushed_tally_reads_exactly_as_observing_each_request() -> None:
    tally = RequestTally()
    for number, seconds in enumerate(SECONDS):
        outcome = "partial" if number % 3 == 0 else "ok"
        tally.request("tallied", outcome, seconds)
        REQUESTS.labels("observed", outcome).inc()
        REQUEST_SECONDS.labels("observed").observe(seconds)
        if number % 2:
            tally.coalesced("tallied")
            COALESCED.labels("observed").inc()
    assert _series("tallied")["count"] is None  # nothing reaches Prometheus before a flush
    tally.flush()
    tallied, observed = _series("tallied"), _series("observed")
    assert tallied == observed
    assert tallied["count"] == len(SECONDS) and tallied["le=0.001"] == 3 and tallied["le=+Inf"] == 12
    tally.flush()  # a flush hands each request over once
    assert _series("tallied") == observed


def test_a_scrape_includes_requests_counted_since_the_last_flush() -> None:
    from federation.ops import metrics

    metrics.TALLY.request("scraped", "ok", 0.002)
    assert b'onepane_requests_total{operation="scraped",outcome="ok"} 1.0' in render()


def _source_series(source: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        f"le={bound}": REGISTRY.get_sample_value("onepane_source_call_seconds_bucket", {"source": source,
                                                                                     "le": str(bound)})
        for bound in (*_BUCKETS, "+Inf")
    }
    out["sum"] = REGISTRY.get_sample_value("onepane_source_call_seconds_sum", {"source": source})
    for outcome in ("ok", "SOURCE_TIMEOUT"):
        out[outcome] = REGISTRY.get_sample_value("onepane_source_calls_total", {"source": source,
                                                                                "outcome": outcome})
    return out


def test_source_calls_tallied_read_exactly_as_observing_each_call() -> None:
    tally = RequestTally()
    for number, seconds in enumerate(SECONDS):
        outcome = None if number == 5 else "SOURCE_TIMEOUT" if number % 4 == 0 else "ok"  # None: cancelled
        tally.source_call("tallied", outcome, seconds)
        if outcome is not None:
            SOURCE_CALLS.labels("observed", outcome).inc()
        SOURCE_SECONDS.labels("observed").observe(seconds)
    assert _source_series("tallied")["sum"] is None
    tally.flush()
    tallied = _source_series("tallied")
    assert tallied == _source_series("observed")
    assert tallied["ok"] == 8 and tallied["SOURCE_TIMEOUT"] == 3 and tallied["le=+Inf"] == len(SECONDS)
