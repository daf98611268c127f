"""Operations over HTTP: Prometheus metrics and OpenTelemetry spans for a real request."""

from __future__ import annotations

import urllib.request

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.stories.conftest import LiveDemo, post, post_raw

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def tracing() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)


def test_metrics_count_requests_and_source_calls(demo: LiveDemo) -> None:
    post(demo.handle.url, 'query Lookup { customers(email: "ann.lee@example.com") { name purchases { id } } }')
    with urllib.request.urlopen(demo.handle.url.removesuffix("/graphql") + "/metrics", timeout=10) as response:
        text = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/plain")
    assert 'onepane_requests_total{operation="Lookup",outcome="ok"}' in text
    assert 'onepane_source_call_seconds_bucket{le="0.005",source="shop"}' in text
    assert 'onepane_source_calls_total{outcome="ok",source="crm"}' in text
    assert 'onepane_breaker_state{source="pos"} 0.0' in text


def test_one_span_per_request_with_parse_validate_and_source_calls(demo: LiveDemo) -> None:
    EXPORTER.clear()
    post(demo.handle.url, 'query Traced { customers(email: "jose.garcia@example.org") { name } }')
    spans = EXPORTER.get_finished_spans()
    (root,) = [s for s in spans if s.name == "graphql.request" and s.attributes
               and s.attributes.get("graphql.operation.name") == "Traced"]
    children = [s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id]
    names = {s.name for s in children}
    assert {"graphql.parse", "graphql.validate", "source.call"} <= names
    sources = {s.attributes["onepane.source"] for s in children if s.name == "source.call" and s.attributes}
    assert {"shop", "crm"} <= sources


def test_a_document_that_fails_to_parse_is_traced_without_context_errors(
        demo: LiveDemo, caplog: pytest.LogCaptureFixture) -> None:
    EXPORTER.clear()
    with caplog.at_level("ERROR"):
        body = post(demo.handle.url, "query Broken { customers(email: ")
    assert body["errors"] and body.get("data") is None
    requests = [s for s in EXPORTER.get_finished_spans() if s.name == "graphql.request"]
    assert requests and requests[-1].attributes and requests[-1].attributes["onepane.outcome"] == "error"
    assert not [r for r in caplog.records if "Failed to detach context" in r.getMessage()]


@pytest.mark.parametrize("operation_name", ["\ud800", "x" * 10_000, "bad name!"])
def test_an_odd_operation_name_never_breaks_metrics(demo: LiveDemo, operation_name: str) -> None:
    """A lone surrogate once made every later scrape answer 500 until restart (security finding 8)."""
    body = ('{"query": "query Q { customers(email: \\"ann.lee@example.com\\") { name } }", "operationName": "'
            + operation_name.encode("unicode_escape").decode().replace("\\\\", "\\") + '"}').encode()
    status, answer = post_raw(demo.handle.url, "", body=body)
    assert status < 500, answer
    if operation_name == "\ud800":
        assert status == 400 and answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    with urllib.request.urlopen(demo.handle.url.removesuffix("/graphql") + "/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    assert operation_name not in text
