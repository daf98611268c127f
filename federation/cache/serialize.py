"""A stable JSON form of records for the shared cache: exact money, decimals and datetimes.

orjson would turn a Decimal into a float and a datetime into a string that reads back as a
string; every such value is written as a one-key object tagged `$t` and read back typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from federation.records import Money, Record

__all__ = ["FORMAT", "dumps_records", "loads_records"]

FORMAT = 1  # bump when the layout changes; readers ignore other formats
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_records(records: Sequence[Record], stored_at: float) -> bytes:
    """Records as bytes (with their fetch time) for the shared cache."""
    body = {"v": FORMAT, "at": stored_at, "records": [_record(r) for r in records]}
    return orjson.dumps(body, default=_tagged, option=_OPTIONS)


def loads_records(data: bytes) -> tuple[tuple[Record, ...], float] | None:
    """The records and fetch time, or None for another format or unreadable bytes."""
    try:
        body = orjson.loads(data)
        if not isinstance(body, dict) or body.get("v") != FORMAT:
            return None
        return tuple(_unrecord(r) for r in body["records"]), float(body["at"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _record(record: Record) -> dict[str, Any]:
    return {
        "e": record.entity, "s": record.source, "i": record.local_id, "f": dict(record.fields),
        "k": {k: list(v) for k, v in record.keys.items()}, "r": dict(record.refs),
        "u": record.updated_at, "w": dict(record.raw), "x": dict(record.errors), "a": record.as_of,
    }


def _unrecord(data: Mapping[str, Any]) -> Record:
    return Record(
        entity=data["e"], source=data["s"], local_id=data["i"],
        fields={k: _untag(v) for k, v in data["f"].items()},
        keys={k: tuple(v) for k, v in data["k"].items()}, refs=dict(data["r"]),
        updated_at=_untag(data["u"]), raw=dict(data["w"]), errors=dict(data["x"]), as_of=_untag(data.get("a")),
    )


def _tagged(value: Any) -> Any:
    if isinstance(value, Money):
        return {"$t": "money", "v": [str(value.amount), value.currency]}
    if isinstance(value, Decimal):
        return {"$t": "decimal", "v": str(value)}
    if isinstance(value, datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if not isinstance(value, dict) or "$t" not in value:
        return value
    kind, raw = value["$t"], value["v"]
    if kind == "money":
        return Money(Decimal(raw[0]), raw[1])
    if kind == "decimal":
        return Decimal(raw)
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    raise ValueError(f"unknown tag {kind!r}")
