"""Durable audit of data access: one JSON line per operation, fsynced before the answer leaves."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = ["AuditEntry", "AuditLog"]


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
        await asyncio.to_thread(self._write, entry.to_json())

    def _write(self, line: bytes) -> None:
        with self._lock:
            os.write(self._fd, line)
            if self.fsync:
                os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
