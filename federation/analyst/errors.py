"""The one error `federation sql` and `/sql` answer with (kept apart so the server need not load DuckDB)."""

from __future__ import annotations

from federation.errors import BAD_SQL

__all__ = ["SqlProblem"]


class SqlProblem(Exception):
    """The statement cannot run: refused, unparseable, unknown names, or over its time."""

    def __init__(self, message: str, code: str = BAD_SQL) -> None:
        super().__init__(message)
        self.message, self.code = message, code
