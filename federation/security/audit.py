"""Durable audit of data access: one entry per operation, stored before the answer leaves.

`AuditLog` writes a JSONL file per instance (fsynced); `DatabaseAuditLog`
(federation/security/audit_db.py) one table shared by every instance. When an entry cannot be
stored, `append` raises `AuditUnavailable` and the caller withholds the answer: nothing leaves
unaudited.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson
from graphql import GraphQLError

from federation.errors import AUDIT_UNAVAILABLE, OnepaneError

__all__ = ["AuditEntry", "AuditLog", "AuditSink", "AuditUnavailable"]

log = logging.getLogger("federation.security.audit")


class AuditUnavailable(GraphQLError, OnepaneError):
    """The entry could not be stored, so the answer was withheld.

    A GraphQLError as well: it is raised from the role layer's operation hook, outside field
    execution, where strawberry passes a GraphQLError through unchanged (with its code) and would
    turn any other exception into an error whose message is the exception's text. The message
    names only the exception class: driver errors can quote SQL, parameters or the database URL.
    """

    code = AUDIT_UNAVAILABLE

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the audit log could not be written ({type(cause).__name__}); the answer was withheld "
                         "because nothing may leave unaudited", extensions={"code": self.code})


@dataclass(slots=True)
class AuditEntry:
    principal: str
    role: str
    operation_hash: str
    operation_name: str | None
    customer_ids: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    errors: int = 0

    def to_json(self) -> bytes:
        return orjson.dumps({
            "time": datetime.now(UTC).isoformat(),
            "principal": self.principal,
            "role": self.role,
            "operationHash": self.operation_hash,
            "operationName": self.operation_name,
            "customerIds": sorted(self.customer_ids),
            "fields": sorted(self.fields),
            "errors": self.errors,
        }) + b"\n"


class AuditSink(Protocol):
    """Where entries go: the JSONL file (`AuditLog`) or the shared table (`DatabaseAuditLog`)."""

    async def append(self, entry: AuditEntry) -> None:
        """Return only once the entry is stored; AuditUnavailable when it could not be."""
        ...

    async def aclose(self) -> None: ...


class AuditLog:
    """Appends entries to a JSONL file; each write is flushed and fsynced in a worker thread."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        self.fsync = fsync
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: concurrent writers (several workers) never interleave inside one line.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    async def append(self, entry: AuditEntry) -> None:
        """Return only once the line is on disk; AuditUnavailable when it could not be written."""
        try:
            await asyncio.to_thread(self._write, entry.to_json())
        except OSError as exc:
            log.error("audit file %s could not be written: %s", self.path, exc.strerror or type(exc).__name__)
            raise AuditUnavailable(exc) from exc

    def _write(self, line: bytes) -> None:
        with self._lock:
            os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    async def aclose(self) -> None:
        """The server closes every kind of sink the same way; a database sink needs the event loop."""
        self.close()

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
