"""Turn a GraphQL answer into rows: the first list in the data, nested objects flattened."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

__all__ = ["find_rows", "flatten", "to_csv"]


def find_rows(data: Any) -> tuple[str, list[Any]]:
    """The path and items of the first list of objects in `data` (depth-first, in field order)."""
    if isinstance(data, list):
        return "", data
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, list) and (not value or isinstance(value[0], Mapping)):
                return str(key), value
            if isinstance(value, Mapping):
                path, rows = find_rows(value)
                if path or rows:
                    return f"{key}.{path}" if path else str(key), rows
    return "", []


def flatten(row: Any, prefix: str = "") -> dict[str, Any]:
    """`{"total": {"amount": "1"}}` → `{"total.amount": "1"}`; lists of scalars joined by "; ";
    lists of objects kept as JSON so nothing is lost."""
    if not isinstance(row, Mapping):
        return {prefix or "value": row}
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        elif isinstance(value, list):
            if all(not isinstance(v, Mapping | list) for v in value):
                out[name] = "; ".join("" if v is None else str(v) for v in value)
            else:
                out[name] = orjson.dumps(value).decode()
        else:
            out[name] = value
    return out


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header of every column seen, in first-seen order; missing cells empty."""
    rows = list(rows)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()
