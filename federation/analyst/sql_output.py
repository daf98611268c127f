"""Writing a `federation sql` answer: a terminal table, CSV, JSON Lines or Parquet.

One value per cell everywhere: money is a plain number beside its currency column, times are
ISO 8601 with their offset, lists are joined with "; " in CSV and the table (kept as arrays in
JSON Lines and Parquet). Numbers are written without exponents and with at least two decimals
when they have a fraction part, so `25`, `110.5` and `12.00` do not sit in one column.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from federation.analyst.sql import SqlAnswer

__all__ = ["FORMATS", "cell", "write_answer"]

FORMATS = ("table", "csv", "jsonl", "parquet")
_CENTS = Decimal("0.01")


def number(value: Decimal) -> str:
    """`Decimal('990.000000')` → `990.00`; `Decimal('0.125000')` → `0.125`: plain, no exponent."""
    if value == value.to_integral_value():
        return format(value.quantize(_CENTS) if value.as_tuple().exponent < 0 else value, "f")  # type: ignore[operator]
    trimmed = value.normalize()
    return format(trimmed if trimmed.as_tuple().exponent < -2 else value.quantize(_CENTS), "f")  # type: ignore[operator]


def cell(value: Any) -> Any:
    """A JSON-ready value: decimals as plain-number strings, times in ISO 8601."""
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [cell(v) for v in value]
    return value


def _text(value: Any) -> str:
    value = cell(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value)


def write_answer(answer: SqlAnswer, fmt: str, out: IO[str] | None, path: Path | None, bom: bool = False) -> None:
    """Write `answer` in `fmt` to `path` (Parquet needs one) or the text stream `out`."""
    if fmt == "parquet":
        if path is None:
            raise ValueError("--format parquet: give --output FILE.parquet")
        pq.write_table(_arrow(answer), path)
        return
    if path is not None:
        with path.open("w", encoding="utf-8-sig" if bom and fmt == "csv" else "utf-8", newline="") as handle:
            _write_text(answer, fmt, handle)
    else:
        assert out is not None
        _write_text(answer, fmt, out)


def _write_text(answer: SqlAnswer, fmt: str, out: IO[str]) -> None:
    names = [name for name, _ in answer.columns]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_text(v) for v in row] for row in answer.rows)
    elif fmt == "jsonl":
        for row in answer.rows:
            out.write(orjson.dumps(dict(zip(names, (cell(v) for v in row), strict=True))).decode() + "\n")
    else:
        table = Table(title=f"{len(answer.rows):,} row(s){' (truncated)' if answer.truncated else ''}")
        for name, kind in answer.columns:
            table.add_column(name, overflow="fold", justify="right" if _numeric(kind) else "left")
        for row in answer.rows:
            table.add_row(*(_text(v) for v in row))
        Console(file=out, width=max(120, Console().width)).print(table)


def _numeric(kind: str) -> bool:
    return kind.startswith(("DECIMAL", "BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "FLOAT", "SMALLINT"))


def _arrow(answer: SqlAnswer) -> pa.Table:
    names = [name for name, _ in answer.columns]
    columns: list[list[Any]] = [[row[i] for row in answer.rows] for i in range(len(names))]
    return pa.table({name: pa.array(values) for name, values in zip(names, columns, strict=True)})


def csv_text(answer: SqlAnswer) -> str:
    buffer = io.StringIO()
    _write_text(answer, "csv", buffer)
    return buffer.getvalue()
