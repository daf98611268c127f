"""Log an unexpected exception by incident id without its messages.

Exception messages can carry SQL text, connection strings or secrets (a driver error quotes the
statement and its parameters), so the log gets the incident id, the exception classes of the
chain and the frames (file, line, function) — enough to find the bug, nothing to leak.
"""

from __future__ import annotations

import logging
import traceback

__all__ = ["log_incident"]


def log_incident(log: logging.Logger, what: str, incident: str, exc: BaseException) -> None:
    """One error line: `what (incident …): Class ← Cause at file:line in fn ← …`."""
    chain: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 5:
        frames = traceback.extract_tb(current.__traceback__)[-6:]
        where = " ← ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} in {f.name}" for f in reversed(frames))
        chain.append(f"{type(current).__module__}.{type(current).__qualname__} at {where or '?'}")
        current = current.__cause__ or current.__context__
    log.error("%s (incident %s): %s", what, incident, " | caused by ".join(chain))
