"""Per-request metrics and spans: operation name, outcome, latency; parse and validate spans."""

from __future__ import annotations

import time
from collections.abc import Iterator

from opentelemetry import trace
from strawberry.extensions import SchemaExtension

from federation.ops.metrics import REQUEST_SECONDS, REQUESTS
from federation.ops.tracing import tracer

__all__ = ["OpsExtension"]


_MAX_NAMES = 200
_seen: set[str] = set()


def _label(name: str | None) -> str:
    """Operation names come from clients: bound the label set so metrics cannot be flooded."""
    if not name:
        return "anonymous"
    name = name[:64]
    if name in _seen:
        return name
    if len(_seen) < _MAX_NAMES:
        _seen.add(name)
        return name
    return "other"


class OpsExtension(SchemaExtension):
    """`onepane_requests_total{operation,outcome}`, latency, and the request's span tree."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        with tracer.start_as_current_span("graphql.request") as span:
            yield
            name = _label(self.execution_context.operation_name)
            result = self.execution_context.result
            errors = getattr(result, "errors", None) or []
            data = getattr(result, "data", None)
            outcome = "ok" if not errors else ("partial" if data else "error")
            span.set_attribute("graphql.operation.name", name)
            span.set_attribute("onepane.outcome", outcome)
            if outcome == "error":
                span.set_status(trace.StatusCode.ERROR)
        REQUESTS.labels(name, outcome).inc()
        REQUEST_SECONDS.labels(name).observe(time.perf_counter() - started)

    def on_parse(self) -> Iterator[None]:
        with tracer.start_as_current_span("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with tracer.start_as_current_span("graphql.validate"):
            yield
