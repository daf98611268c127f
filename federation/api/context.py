"""What resolvers get from the request context: the engine's per-request state."""

from __future__ import annotations

from typing import Any

from federation.engine.request import Request

__all__ = ["KEY", "engine_request"]

KEY = "onepane"


def engine_request(info: Any) -> Request:
    """The per-request engine state for a strawberry `info`."""
    request: Request = info.context[KEY]
    return request
