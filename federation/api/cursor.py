"""Opaque keyset cursors: (time, id) of the last item on a page."""

from __future__ import annotations

import base64
from datetime import datetime

import orjson

from federation.errors import QueryError

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(at: datetime | None, unit_id: str) -> str:
    payload = orjson.dumps([at.isoformat() if at else None, unit_id])
    return base64.urlsafe_b64encode(payload).decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime | None, str]:
    """Parse a cursor from a previous page; QueryError when it is not one."""
    try:
        at, unit_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        return (datetime.fromisoformat(at) if at else None), str(unit_id)
    except (ValueError, TypeError) as exc:
        raise QueryError("after: not a cursor returned by this API", "after") from exc
