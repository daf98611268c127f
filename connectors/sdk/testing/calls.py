"""Counting what reaches the source, to prove a batched lookup is one call and not one per value."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

__all__ = ["SourceCalls"]

P = ParamSpec("P")
R = TypeVar("R")


class SourceCalls:
    """A counter the test source bumps once per request it receives.

    Put it where the connector's requests leave for the source, not around the connector: a
    statement listener on the database engine, a middleware of the HTTP server, a wrapper of the
    client method or snapshot read that every lookup goes through (`wrap`). The kit resets it
    before a batched lookup and reads how many requests that lookup made.
    """

    def __init__(self) -> None:
        self.count = 0

    def hit(self, *_: Any, **__: Any) -> None:
        """Count one request (usable directly as an event listener)."""
        self.count += 1

    def reset(self) -> None:
        self.count = 0

    def wrap(self, function: Callable[P, R]) -> Callable[P, R]:
        """`function`, counting each call (sync or async alike)."""
        if inspect.iscoroutinefunction(function):
            @functools.wraps(function)
            async def counted_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                self.count += 1
                return await function(*args, **kwargs)

            return cast(Callable[P, R], counted_async)

        @functools.wraps(function)
        def counted(*args: P.args, **kwargs: P.kwargs) -> R:
            self.count += 1
            return function(*args, **kwargs)

        return counted
