"""A pooled SQLite connection reads the file it opened, even after that file is moved away.

SQLite holds the open file (its inode), not the path: a file moved away under load kept being
read through the pool's connections (old data, `/readyz` ok), and a new file put at the path was
never seen until restart. So each connection remembers which file it opened, and each checkout
compares it with what the path holds now: gone or another file, and the connection is thrown
away (SQLAlchemy's DisconnectionError: the pool opens a fresh one, which fails as
SOURCE_UNAVAILABLE while the path is empty and reads the new file once it is back). One
`stat` per checkout, a few microseconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["follow_path"]

_OPENED = "onepane_sqlite_file"


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def follow_path(engine: AsyncEngine, path: Path) -> None:
    """Discard a pooled connection whose file is no longer the one at `path`."""

    def opened(_dbapi: Any, record: Any) -> None:
        record.info[_OPENED] = _identity(path)

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        now = _identity(path)
        if now is None or now != record.info.get(_OPENED):
            raise DisconnectionError(f"{path.name} is no longer the file this connection opened")

    event.listen(engine.sync_engine, "connect", opened)
    event.listen(engine.sync_engine, "checkout", checkout)
