"""Onepane's exception tree, classified by what the caller should do.

    OnepaneError
    ├── ConfigError              the config or model is wrong; carries every problem found
    ├── QueryError               the client's fault (bad argument); never trips a breaker
    │   ├── NotFound             NOT_FOUND: the record an argument names does not exist
    │   └── SourceRejectedInput  a source refused a value the request sent (HTTP 400, overflow)
    └── SourceError              SOURCE_ERROR: a source failed; not retried
        ├── SourceUnavailable    SOURCE_UNAVAILABLE: retryable (refused, reset, 503, 429)
        │   └── SourceTimeout    SOURCE_TIMEOUT: also a TimeoutError
        ├── CircuitOpen          CIRCUIT_OPEN: the breaker refused the call
        └── SourceDataError      SOURCE_DATA_ERROR: one field of one record is unusable

Messages name the source and never carry SQL text, URLs with credentials or secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CircuitOpen",
    "ConfigError",
    "ConfigProblem",
    "NotFound",
    "OnepaneError",
    "QueryError",
    "SourceDataError",
    "SourceError",
    "SourceRejectedInput",
    "SourceTimeout",
    "SourceUnavailable",
]


class OnepaneError(Exception):
    """Root of every error Onepane raises on purpose."""

    code = "INTERNAL"
    retryable = False


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a config file: where, what, and what would be valid."""

    file: str
    path: str
    problem: str
    valid: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        hint = f" (valid: {self.valid})" if self.valid else ""
        return f"{where}: {self.problem}{hint}"


class ConfigError(OnepaneError):
    """The config or model is invalid; `problems` lists every error found, not just the first."""

    code = "CONFIG_ERROR"

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class QueryError(OnepaneError):
    """The request is wrong (a malformed argument); the message says which argument."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(message)


class NotFound(QueryError):
    """The record an argument names does not exist (a root's id, an override's record)."""

    code = "NOT_FOUND"


class SourceRejectedInput(QueryError):
    """A source refused a value this request sent: a number its column cannot hold, an HTTP 400
    or 422 for a looked-up value. The caller's fault, answered to that caller only: never retried,
    never counted by the source's circuit breaker (one caller cannot take a source down for all)."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source '{source}' refused a value of this request: {message}")


class SourceError(OnepaneError):
    """A source failed in a way that retrying will not fix."""

    code = "SOURCE_ERROR"

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source '{source}': {message}")


class SourceUnavailable(SourceError):
    """The source could not be reached or asked us to come back later (`retry_after` seconds)."""

    code = "SOURCE_UNAVAILABLE"
    retryable = True

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


class SourceTimeout(SourceUnavailable, TimeoutError):
    """The source did not answer within its timeout."""

    code = "SOURCE_TIMEOUT"


class CircuitOpen(SourceError):
    """The source's circuit breaker is open: no call was made."""

    code = "CIRCUIT_OPEN"


class SourceDataError(SourceError):
    """A value from the source does not fit its declared type; only that field fails."""

    code = "SOURCE_DATA_ERROR"
