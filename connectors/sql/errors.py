"""SQLAlchemy and DBAPI errors → Onepane's error tree; messages never carry SQL, URLs or values."""

from __future__ import annotations

import decimal

from sqlalchemy import exc as sa_exc

from federation.errors import SourceError, SourceRejectedInput, SourceTimeout, SourceUnavailable

__all__ = ["DRIVER_PACKAGES", "missing_driver", "translate"]

# Driver module → the pip package that provides it.
DRIVER_PACKAGES = {
    "aiosqlite": "aiosqlite",
    "asyncpg": "asyncpg",
    "aiomysql": "aiomysql",
    "asyncmy": "asyncmy",
    "psycopg": "psycopg[binary]",
    "pymysql": "pymysql",
}
_TIMEOUT_CLASSES = {"QueryCanceledError", "QueryCanceled", "TimeoutError", "CancelledError"}
# MariaDB max_statement_time / MySQL max_execution_time; PostgreSQL statement_timeout.
_TIMEOUT_CODES = {1969, 3024, "57014"}


def missing_driver(source: str, exc: ImportError) -> SourceError:
    module = (exc.name or "").split(".")[0]
    package = DRIVER_PACKAGES.get(module, module or "the database driver")
    return SourceError(source, f"database driver '{module}' is not installed; pip install {package}")


def _code(orig: BaseException | None) -> object:
    if orig is None:
        return None
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return sqlstate
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


# MariaDB/MySQL errors about a value, not the server: out of range (1264, 1690), truncated or
# incorrect value (1265, 1292, 1366, 1367), data too long (1406).
_VALUE_CODES = {1264, 1265, 1292, 1366, 1367, 1406, 1690}


def _is_bad_value(exc: BaseException) -> bool:
    """An error about a value the statement carried (SQLSTATE class 22 "data exception", a number
    the driver cannot bind): the request's values, never the database's health."""
    orig = getattr(exc, "orig", None)
    for error in (exc, orig, exc.__cause__, getattr(orig, "__cause__", None)):
        if isinstance(error, decimal.DecimalException | OverflowError):
            return True
    code = _code(orig)
    return (isinstance(code, str) and code.startswith("22")) or code in _VALUE_CODES


def _is_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    if isinstance(exc, TimeoutError | sa_exc.TimeoutError) or isinstance(orig, TimeoutError):
        return True
    names = {type(e).__name__ for e in (exc, orig) if e is not None}
    return bool(names & _TIMEOUT_CLASSES) or _code(orig) in _TIMEOUT_CODES


def translate(source: str, exc: BaseException, *, connecting: bool,
              timeout: float) -> SourceError | SourceRejectedInput:
    """The Onepane error for `exc`; raise it `from exc` to keep the cause."""
    if isinstance(exc, SourceError):
        return exc
    if _is_timeout(exc):
        return SourceTimeout(source, f"no answer within {timeout:g}s")
    if not connecting and _is_bad_value(exc):
        return SourceRejectedInput(source, f"a value it cannot hold or compare ({type(exc).__name__})")
    if connecting or isinstance(exc, OSError | sa_exc.DisconnectionError):
        return SourceUnavailable(source, "database unreachable")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return SourceUnavailable(source, "database connection lost")
    if isinstance(exc, sa_exc.InterfaceError):
        return SourceUnavailable(source, "database connection lost")
    return SourceError(source, f"query failed ({type(exc).__name__})")
