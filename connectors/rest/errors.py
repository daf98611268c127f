"""HTTP statuses and aiohttp exceptions mapped to Onepane's error tree, in one place.

    aiohttp.ClientConnectorError, ServerDisconnectedError,
      ClientOSError, ClientPayloadError            → SourceUnavailable
    asyncio.TimeoutError, aiohttp timeouts         → SourceTimeout
    HTTP 429, 503                                  → RetryLater(SourceUnavailable), .retry_after
    HTTP other 5xx                                 → SourceUnavailable
    HTTP 401, 403                                  → SourceError("authentication failed (HTTP 401)")
    HTTP 400, 413, 414, 422                        → SourceRejectedInput: the request's own values
                                                     (a 10,000-character lookup); never a breaker failure
    HTTP other 4xx, a non-JSON body                → SourceError

Messages name the method, the configured endpoint template (never a URL with its query, so no
secret or looked-up value leaks) and the status.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from connectors.sdk import SourceError, SourceRejectedInput, SourceTimeout, SourceUnavailable

__all__ = ["RetryLater", "from_client_error", "from_status", "parse_retry_after"]

# Statuses an API answers when the values it was sent are wrong (Bad Request, Content Too Large,
# URI Too Long, Unprocessable): the caller's fault, so a flood of them must not open the breaker.
_REFUSED_VALUE = frozenset({400, 413, 414, 422})


class RetryLater(SourceUnavailable):
    """HTTP 429 or 503: the API asked to come back later (`retry_after`, from `Retry-After`)."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def from_status(
    source: str, status: int, where: str, retry_after: str | None, detail: str | None = None
) -> SourceError | SourceRejectedInput:
    """The error for a non-2xx status; `where` is `METHOD /endpoint` without a query.

    `detail` is the API's own message, already quoted safely (see `client.quote_safely`).
    """
    said = f": {detail}" if detail else ""
    if status in (429, 503):
        seconds = parse_retry_after(retry_after)
        hint = f"; retry after {seconds:g} s" if seconds is not None else ""
        return RetryLater(source, f"HTTP {status} from {where}{hint}{said}", seconds)
    if status >= 500:
        return SourceUnavailable(source, f"HTTP {status} from {where}{said}")
    if status in (401, 403):
        return SourceError(source, f"authentication failed (HTTP {status}) on {where}{said}")
    if status in _REFUSED_VALUE:
        return SourceRejectedInput(source, f"HTTP {status} from {where}{said}")
    return SourceError(source, f"HTTP {status} from {where}{said}")


def from_client_error(source: str, exc: BaseException, where: str) -> SourceError:
    """The error for a transport failure; the cause is chained by the caller."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return SourceTimeout(source, f"no answer in time from {where}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        # strerror carries the address ("Connect call failed ('10.0.0.7', 443)"): name the errno only.
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno else type(exc.os_error).__name__
        return SourceUnavailable(source, f"cannot connect for {where}: {reason}")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return SourceUnavailable(source, f"connection lost during {where}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return SourceUnavailable(source, f"truncated response from {where}")
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.TooManyRedirects):
        return SourceError(source, f"{type(exc).__name__} for {where}")
    return SourceUnavailable(source, f"{type(exc).__name__} during {where}")
