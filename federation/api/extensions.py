"""Schema extension: `extensions.sources`, source failures as errors, and error masking.

A source that failed adds one error with `extensions.code` and `extensions.source` while the
data of the other sources still comes back; a failure that stale cached records covered is
reported in `extensions.sources` only (`stale`, `error`), since its data did come back.
Errors Onepane did not raise on purpose are masked to an incident id that the log carries;
no stack trace, SQL text or secret reaches a client.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLEnumType, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension

from federation.api.context import KEY, NOTES
from federation.engine.request import Request
from federation.engine.stats import SourceStats
from federation.errors import OnepaneError, SourceError
from federation.errors_log import log_incident
from federation.messages import cut, without_suggestions

__all__ = ["SourcesExtension", "format_error", "sources_json"]

log = logging.getLogger("federation.api")


def format_error(error: GraphQLError, schema: GraphQLSchema | None = None) -> GraphQLError:
    """Give our errors their code; mask anything unexpected."""
    original = error.original_error
    if error.path is None and error.message.startswith("Variable '$"):
        return _bad_variable(error, schema)
    if original is None:
        return error
    if isinstance(original, OnepaneError):
        extensions: dict[str, Any] = {**(error.extensions or {}), "code": original.code}
        if isinstance(original, SourceError):
            extensions["source"] = original.source
        argument = getattr(original, "argument", None)
        if argument:
            extensions["argument"] = argument
        return GraphQLError(str(original), error.nodes, error.source, error.positions, error.path,
                            None, extensions)
    incident = uuid.uuid4().hex[:12]
    log_incident(log, f"internal error at {error.path}", incident, original)
    return GraphQLError(f"Internal error (incident {incident})", error.nodes, error.source,
                        error.positions, error.path, None, {"code": "INTERNAL", "incident": incident})


_NOT_IN_ENUM = re.compile(r"does not exist in '(\w+)' enum")


def _bad_variable(error: GraphQLError, schema: GraphQLSchema | None = None) -> GraphQLError:
    """A variable graphql-core could not coerce to its declared type: the caller's mistake.

    graphql-core words these `Variable '$n' got invalid value …; <reason>` or `… has invalid
    value: <reason>` before execution (no path), whatever raised inside a scalar's parse; the
    reason is kept short (it echoes the caller's value) and loses any "Did you mean" hint, which
    would name fields to any role. A value outside an enum gets the enum's values instead: they
    are what the caller must send, not a guess at a name.
    """
    name = error.message.removeprefix("Variable '$").split("'", 1)[0][:64]
    text = error.message
    reason = ""
    for marker in ("; ", " has invalid value: "):
        if marker in text:
            reason = cut(without_suggestions(text.rsplit(marker, 1)[-1]))
            break
    enum = _NOT_IN_ENUM.search(reason)
    kind = schema.type_map.get(enum.group(1)) if enum and schema is not None else None
    if isinstance(kind, GraphQLEnumType):
        reason = f"{reason.rstrip('.')} (valid: {', '.join(kind.values)})"
    message = f"Variable '${name}' has a value that does not fit its type" + (f": {reason}" if reason else "")
    return GraphQLError(message, error.nodes, error.source, error.positions, None, None,
                        {"code": "BAD_USER_INPUT", "argument": f"${name}"})


class SourcesExtension(SchemaExtension):
    """Reports per-source accounting and turns source failures into GraphQL errors."""

    def _request(self) -> Request | None:
        context = self.execution_context.context
        return context.get(KEY) if isinstance(context, dict) else None

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        request = self._request()
        if result is None or request is None:
            return
        schema = getattr(self.execution_context.schema, "_schema", None)
        errors = [format_error(e, schema) for e in (getattr(result, "errors", None) or [])]
        reported = {(e.extensions or {}).get("source") for e in errors
                    if (e.extensions or {}).get("code", "").startswith(("SOURCE_", "CIRCUIT"))}
        for name, stats in request.stats.items():
            for failure in stats.errors[:1]:
                if name not in reported:
                    errors.append(GraphQLError(str(failure), extensions={"code": failure.code, "source": name}))
        context = self.execution_context.context
        for path, source, message, kept in context.get(NOTES, ()) if isinstance(context, dict) else ():
            errors.append(GraphQLError(message, path=path, extensions={
                "code": "SOURCE_DATA_ERROR", "source": source, **({"kept": True} if kept else {})}))
        result.errors = errors or None

    def get_results(self) -> dict[str, Any]:
        request = self._request()
        return {} if request is None else sources_json(request)


def sources_json(request: Request) -> dict[str, Any]:
    """`{"sources": {...}}` for the response's extensions; empty when `gateway.response_extensions` is off."""
    gateway = request.gateway
    if not gateway.config.gateway.response_extensions:
        return {}
    sources = {}
    for name in gateway.connectors:
        stats = request.stats.get(name) or SourceStats()
        sources[name] = stats.as_json(gateway.guards[name].breaker.state.value)
        if (age := gateway.connectors[name].data_age()) is not None:  # an export: how old its copy is
            sources[name].update(age.as_json())
    return {"sources": sources}

