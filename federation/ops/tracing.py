"""OpenTelemetry: one span per request with children for parse, validate and each source call.

Off by default: without a configured provider the API's no-op tracer costs next to nothing.
`gateway.tracing.otlp_endpoint` installs an OTLP/HTTP exporter (package
opentelemetry-exporter-otlp-proto-http).
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["configure_tracing", "tracer"]

log = logging.getLogger("federation.ops")
tracer = trace.get_tracer("onepane")


def configure_tracing(otlp_endpoint: str | None, service_name: str = "onepane") -> None:
    """Export spans to an OTLP collector; nothing happens when no endpoint is configured."""
    if not otlp_endpoint:
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise RuntimeError("tracing needs the OTLP exporter: pip install opentelemetry-exporter-otlp-proto-http"
                           ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    log.info("exporting traces to %s", otlp_endpoint)
