"""What resolvers get from the request context: the engine's per-request state."""

from __future__ import annotations

from typing import Any

from federation.engine.request import Request
from federation.security.extension import NOTES_WITHOUT_VALUES

__all__ = ["CALLER_POLICY", "KEY", "NOTES", "NOTES_WITHOUT_VALUES", "engine_request", "note_kept"]

KEY = "onepane"
# Request.notes: the caller's role policy (None: reads everything), set before a root function runs.
CALLER_POLICY = "onepane.policy"


def engine_request(info: Any) -> Request:
    """The per-request engine state for a strawberry `info`."""
    request: Request = info.context[KEY]
    return request


NOTES = "onepane.notes"


def note_kept(info: Any, source: str, message: str, kept: bool = True) -> None:
    """A field whose value is served but holds something its source wrote unreadably (a phone no
    region reads): one `SOURCE_DATA_ERROR` error with `kept: true` at the field's path. With
    `kept=False`, a list field served empty because its source's value could not be read at all:
    the same error without `kept` (raising instead would null the whole record and, through the
    non-null lists above it, every record of the page)."""
    context = info.context
    if isinstance(context, dict):
        if context.get(NOTES_WITHOUT_VALUES):
            message = message.split(": ", 1)[0] + (": a value its source wrote could not be read; served as written"
                                                   if kept else ": a value its source wrote could not be read")
        context.setdefault(NOTES, []).append((info.path.as_list(), source, message, kept))
