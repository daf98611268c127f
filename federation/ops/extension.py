"""Per-request metrics and spans: operation name, outcome, latency; parse and validate spans."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

from opentelemetry import context, trace
from strawberry.extensions import SchemaExtension

from federation.ops.metrics import TALLY
from federation.ops.tracing import tracer, tracing_on

__all__ = ["OpsExtension", "label", "outcome", "record_request"]

_MAX_NAMES = 200
_seen: set[str] = set()
# A GraphQL operation name (spec: Name). Anything else, a lone surrogate included, would make the
# Prometheus exposition unencodable on every later scrape, so it never becomes a label.
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def outcome(failed: bool, data: object) -> str:
    """`ok`, `partial` (errors beside some data) or `error`: one rule for both execution paths."""
    return "ok" if not failed else ("partial" if data else "error")


def record_request(operation: str, result: str, seconds: float) -> None:
    """Count one answered request (strawberry's path and the compiled path alike)."""
    TALLY.request(operation, result, seconds)


def label(name: str | None) -> str:
    """Operation names come from clients: bound the label set so metrics cannot be flooded."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "invalid"
    name = name[:64]
    if name in _seen:
        return name
    if len(_seen) < _MAX_NAMES:
        _seen.add(name)
        return name
    return "other"


class OpsExtension(SchemaExtension):
    """`onepane_requests_total{operation,outcome}`, latency, and the request's span tree.

    Spans are started and ended by hand rather than with `start_as_current_span` around the
    `yield`: strawberry closes a hook's generator when parsing fails, and a context manager
    unwinding inside that close would detach the span's context from the wrong Context.
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        span = tracer.start_span("graphql.request")
        # Without a tracer provider nothing reads the context: attaching it is pure cost.
        token = None if not tracing_on() else context.attach(trace.set_span_in_context(span))
        closed = False
        try:
            yield
        except GeneratorExit:
            # Strawberry closes the hook when parsing or validation fails, from another Context:
            # detaching there fails (and OpenTelemetry logs it). The request ends with it anyway.
            closed = True
            raise
        finally:
            if token is not None and not closed:
                with contextlib.suppress(ValueError):
                    context.detach(token)
            self._finish(span, started, aborted=closed)

    def _finish(self, span: trace.Span, started: float, aborted: bool = False) -> None:
        name = label(self.execution_context.operation_name)
        result = self.execution_context.result
        # A document that did not validate has no result, only pre-execution errors; one strawberry
        # gave up on before any of those were recorded (the hook was closed) failed too.
        errors = getattr(result, "errors", None) or self.execution_context.pre_execution_errors or []
        # A document that never parsed (a syntax error) leaves no result and no document behind.
        never_parsed = result is None and self.execution_context.graphql_document is None
        failed = bool(errors) or never_parsed or (aborted and result is None)
        answered = outcome(failed, getattr(result, "data", None))
        span.set_attribute("graphql.operation.name", name)
        span.set_attribute("onepane.outcome", answered)
        if answered == "error":
            span.set_status(trace.StatusCode.ERROR)
        span.end()
        record_request(name, answered, time.perf_counter() - started)

    def on_parse(self) -> Iterator[None]:
        span = tracer.start_span("graphql.parse")
        try:
            yield
        finally:
            span.end()

    def on_validate(self) -> Iterator[None]:
        span = tracer.start_span("graphql.validate")
        try:
            yield
        finally:
            span.end()
