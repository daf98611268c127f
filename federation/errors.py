"""Onepane's errors: every `extensions.code` a client can see, and the exception tree.

This module is the one place a code is spelled (tests/unit/test_error_codes.py scans the source
and fails on a code literal anywhere else); other modules import the constant or the class.

    OnepaneError                 INTERNAL
    ├── ConfigError              CONFIG_ERROR: the config or model is wrong; carries every problem found
    ├── QueryError               BAD_USER_INPUT: the client's fault (bad argument); never trips a breaker
    │   ├── SourceRejectedInput  a source refused a value the request sent (HTTP 400, overflow)
    │   ├── NotFound             NOT_FOUND: the record an argument names does not exist
    │   └── Forbidden            FORBIDDEN (federation/security/extension.py)
    ├── SourceError              SOURCE_ERROR: a source failed; not retried
    │   ├── SourceUnavailable    SOURCE_UNAVAILABLE: retryable (refused, reset, 503, 429)
    │   │   ├── SourceTimeout    SOURCE_TIMEOUT: also a TimeoutError; not retried (it had its whole timeout)
    │   │   ├── BulkheadFull     not retried (federation/resilience/bulkhead.py)
    │   │   └── RetryLater       HTTP 429/503 with `retry_after` (connectors/rest/errors.py)
    │   ├── CircuitOpen          CIRCUIT_OPEN: the breaker refused the call
    │   └── SourceDataError      SOURCE_DATA_ERROR: one field of one record is unusable
    ├── OverrideStoreError       OVERRIDE_STORE_UNAVAILABLE (federation/identity/overrides.py)
    └── AuditUnavailable         AUDIT_UNAVAILABLE (federation/security/audit.py)

`retryable` on the class is the only thing the retry policy consults
(federation/resilience/retry.py and guard.py): set it on a new type, never list types there.

Codes answered outside the tree: the HTTP boundary's (BAD_REQUEST, UNAUTHENTICATED,
RATE_LIMITED), the request limits' (QUERY_TOO_COSTLY, DOCUMENT_TOO_LARGE,
PERSISTED_QUERY_NOT_ALLOWED), graphql-core's own parse and validation errors
(GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED) and `federation sql`'s (BAD_SQL, SQL_REFUSED,
SQL_TIMEOUT).

Messages name the source and never carry SQL text, URLs with credentials or secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "AUDIT_UNAVAILABLE",
    "BAD_REQUEST",
    "BAD_SQL",
    "BAD_USER_INPUT",
    "CIRCUIT_OPEN",
    "CODES",
    "CONFIG_ERROR",
    "DOCUMENT_TOO_LARGE",
    "FORBIDDEN",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTERNAL",
    "NOT_FOUND",
    "OVERRIDE_STORE_UNAVAILABLE",
    "PERSISTED_QUERY_NOT_ALLOWED",
    "QUERY_TOO_COSTLY",
    "RATE_LIMITED",
    "SOURCE_CODES",
    "SOURCE_DATA_ERROR",
    "SOURCE_DOWN",
    "SOURCE_ERROR",
    "SOURCE_TIMEOUT",
    "SOURCE_UNAVAILABLE",
    "SQL_REFUSED",
    "SQL_TIMEOUT",
    "UNAUTHENTICATED",
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
    "without_tracebacks",
]


# Every `extensions.code`, by who answers it. Plain strings: they go into JSON as they are.
INTERNAL: Final = "INTERNAL"  # an unexpected error, masked to an incident id
CONFIG_ERROR: Final = "CONFIG_ERROR"
BAD_USER_INPUT: Final = "BAD_USER_INPUT"
NOT_FOUND: Final = "NOT_FOUND"
FORBIDDEN: Final = "FORBIDDEN"
SOURCE_ERROR: Final = "SOURCE_ERROR"
SOURCE_UNAVAILABLE: Final = "SOURCE_UNAVAILABLE"
SOURCE_TIMEOUT: Final = "SOURCE_TIMEOUT"
CIRCUIT_OPEN: Final = "CIRCUIT_OPEN"
SOURCE_DATA_ERROR: Final = "SOURCE_DATA_ERROR"
OVERRIDE_STORE_UNAVAILABLE: Final = "OVERRIDE_STORE_UNAVAILABLE"
AUDIT_UNAVAILABLE: Final = "AUDIT_UNAVAILABLE"
# The HTTP boundary (federation/server.py, federation/security/middleware.py).
BAD_REQUEST: Final = "BAD_REQUEST"
UNAUTHENTICATED: Final = "UNAUTHENTICATED"
RATE_LIMITED: Final = "RATE_LIMITED"
# Request limits checked before execution (federation/security/limits.py).
QUERY_TOO_COSTLY: Final = "QUERY_TOO_COSTLY"
DOCUMENT_TOO_LARGE: Final = "DOCUMENT_TOO_LARGE"
PERSISTED_QUERY_NOT_ALLOWED: Final = "PERSISTED_QUERY_NOT_ALLOWED"
# graphql-core's own errors, coded at the HTTP boundary (federation/api/codes.py).
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
# `federation sql` and /sql (federation/analyst/).
BAD_SQL: Final = "BAD_SQL"
SQL_REFUSED: Final = "SQL_REFUSED"
SQL_TIMEOUT: Final = "SQL_TIMEOUT"

# A source gave no data (its error is reported once per source) ...
SOURCE_DOWN: Final = frozenset({SOURCE_ERROR, SOURCE_UNAVAILABLE, SOURCE_TIMEOUT, CIRCUIT_OPEN})
# ... or that plus a value it gave that could not be read: every code that names a source.
SOURCE_CODES: Final = SOURCE_DOWN | {SOURCE_DATA_ERROR}
CODES: Final = frozenset({
    INTERNAL,
    CONFIG_ERROR,
    BAD_USER_INPUT,
    NOT_FOUND,
    FORBIDDEN,
    SOURCE_ERROR,
    SOURCE_UNAVAILABLE,
    SOURCE_TIMEOUT,
    CIRCUIT_OPEN,
    SOURCE_DATA_ERROR,
    OVERRIDE_STORE_UNAVAILABLE,
    AUDIT_UNAVAILABLE,
    BAD_REQUEST,
    UNAUTHENTICATED,
    RATE_LIMITED,
    QUERY_TOO_COSTLY,
    DOCUMENT_TOO_LARGE,
    PERSISTED_QUERY_NOT_ALLOWED,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    BAD_SQL,
    SQL_REFUSED,
    SQL_TIMEOUT,
})


class OnepaneError(Exception):
    """Root of every error Onepane raises on purpose.

    `code` is its `extensions.code`; `retryable` alone decides whether a source call that raised
    it is attempted again.
    """

    code: str = INTERNAL
    retryable: bool = False


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

    code = CONFIG_ERROR

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class QueryError(OnepaneError):
    """The request is wrong (a malformed argument); the message says which argument."""

    code = BAD_USER_INPUT

    def __init__(self, message: str, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(message)


class NotFound(QueryError):
    """The record an argument names does not exist (a root's id, an override's record)."""

    code = NOT_FOUND


class SourceRejectedInput(QueryError):
    """A source refused a value this request sent: a number its column cannot hold, an HTTP 400
    or 422 for a looked-up value. The caller's fault, answered to that caller only: never retried,
    never counted by the source's circuit breaker (one caller cannot take a source down for all)."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source '{source}' refused a value of this request: {message}")


class SourceError(OnepaneError):
    """A source failed in a way that retrying will not fix."""

    code = SOURCE_ERROR

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source '{source}': {message}")


class SourceUnavailable(SourceError):
    """The source could not be reached or asked us to come back later (`retry_after` seconds)."""

    code = SOURCE_UNAVAILABLE
    retryable = True

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


class SourceTimeout(SourceUnavailable, TimeoutError):
    """The source did not answer within its timeout: not retried, it already had its whole timeout
    (retrying would multiply the wait)."""

    code = SOURCE_TIMEOUT
    retryable = False


class CircuitOpen(SourceError):
    """The source's circuit breaker is open: no call was made."""

    code = CIRCUIT_OPEN


class SourceDataError(SourceError):
    """A value from the source does not fit its declared type; only that field fails."""

    code = SOURCE_DATA_ERROR


def without_tracebacks(error: BaseException) -> BaseException:
    """`error` with its traceback and its causes' dropped, for a failure that is kept after it was
    raised (a request's stats, a retry's last outcome).

    A traceback holds the frames it passed through, and their locals hold the request's fetcher and
    the guard's retry state, which holds the failure again: kept, it makes a reference cycle that
    only the cyclic collector frees, holding the whole request (tests/integration/
    test_request_garbage.py). Nothing reads them: failures are logged and answered by their message.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        one = todo.pop()
        if one is None or id(one) in seen:
            continue
        seen.add(id(one))
        one.__traceback__ = None
        todo += [one.__cause__, one.__context__]
    return error
