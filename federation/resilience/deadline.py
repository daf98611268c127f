"""A request's deadline: the time every source call and retry wait of one request must fit in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Deadline"]


@dataclass(slots=True)
class Deadline:
    """`seconds` from creation, on the monotonic clock."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())

    def cap(self, seconds: float) -> float:
        """`seconds`, or less when the deadline comes sooner."""
        return min(seconds, self.remaining)
