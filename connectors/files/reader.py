"""Reading one export file into an Arrow table, with the rows that could not be read counted.

DuckDB reads CSV, TSV and Parquet (its CSV reader sniffs, decompresses gzip, and keeps each
rejected row with its line and reason). JSON Lines and fixed-width files are read a line at a
time here, so each bad line has its own reason too. Every text column is kept as text: the
mapping's transforms and the model's types read the values, as for every other source, so a
value that does not fit is that field's error (kept, labelled), not a lost row.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import duckdb
import orjson
import pyarrow as pa

from connectors.files.config import FilesOptions
from federation.messages import cut

__all__ = ["BadRow", "FileRead", "Unreadable", "read_file"]

_DUCKDB_ENCODINGS = frozenset({"utf-8"})  # others are decoded here, a line at a time


class Unreadable(Exception):
    """A file that could not be read at all (not a row of it): the previous snapshot keeps serving."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int | None
    reason: str


@dataclass(slots=True)
class FileRead:
    path: Path
    table: pa.Table
    bad: list[BadRow] = field(default_factory=list)
    bad_count: int = 0


def read_file(path: Path, options: FilesOptions) -> FileRead:
    """The rows of one file; Unreadable when the file as a whole cannot be read."""
    try:
        if options.format == "parquet":
            return FileRead(path, _duckdb(f"SELECT * FROM read_parquet({_quoted(path)})"))
        if options.format in ("csv", "tsv"):
            return _csv(path, options)
        return _lines(path, options)
    except (duckdb.Error, OSError, EOFError, ValueError) as exc:
        raise Unreadable(f"{path.name}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    """A short reason without DuckDB's SQL text or hints."""
    text = str(exc).split("\n", 1)[0]
    return cut(text.split(": ", 1)[-1] if isinstance(exc, duckdb.Error) else text, 200)


def _gzipped(path: Path, options: FilesOptions) -> bool:
    return options.compression == "gzip" or (options.compression == "auto" and path.name.endswith(".gz"))


def _quoted(value: Path | str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _duckdb(sql: str, con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    own = con or duckdb.connect()
    try:
        return own.sql(sql).to_arrow_table().combine_chunks()
    finally:
        if con is None:
            own.close()


def _csv(path: Path, options: FilesOptions) -> FileRead:
    """DuckDB's CSV reader with every value as text; rejected rows come back with line and reason."""
    transcoded: list[BadRow] = []
    kept: list[int] | None = None
    source: Path | str = path
    temp: str | None = None
    if options.encoding not in _DUCKDB_ENCODINGS:  # cp1252, latin-1, …: to UTF-8 first, bad lines counted
        temp, transcoded, kept = _to_utf8(path, options)
        source = temp
    try:
        args = [
            f"header = {str(options.header).lower()}",
            f"delim = {_quoted(options.separator)}",
            f"quote = {_quoted(options.quote)}",
            "all_varchar = true",
            "store_rejects = true",
            "null_padding = false",
            f"compression = {_quoted('gzip' if _gzipped(path, options) and temp is None else 'none')}",
        ]
        if options.columns:
            args.append("names = [" + ", ".join(_quoted(c) for c in options.columns) + "]")
        con = duckdb.connect()
        try:
            table = _duckdb(f"SELECT * FROM read_csv({_quoted(source)}, {', '.join(args)})", con)
            rejects = con.sql("SELECT line, error_type, error_message FROM reject_errors ORDER BY line").fetchall()
        finally:
            con.close()
    finally:
        if temp is not None:
            os.unlink(temp)
    def original(line: Any) -> int | None:
        if line is None:
            return None
        return kept[int(line)] if kept is not None and int(line) < len(kept) else int(line)

    # DuckDB may report one line several times (one error per extra column): one bad row, its first reason.
    seen: set[int] = set()
    rejected = []
    for line, kind, message in rejects:
        if line is not None and line in seen:
            continue
        if line is not None:
            seen.add(line)
        rejected.append(BadRow(original(line), _reject(kind, message)))
    bad = sorted(transcoded + rejected, key=lambda b: b.line or 0)
    return FileRead(path, table, bad[:options.bad_rows_shown], len(bad))


def _reject(kind: Any, message: Any) -> str:
    """`too many columns: Expected Number of Columns: 4 Found: 5`: DuckDB's error type, then its first line."""
    text = str(message).split("\n", 1)[0]
    return cut(f"{str(kind).lower().replace('_', ' ')}: {text}", 200)


def _open(path: Path, options: FilesOptions) -> IO[bytes]:
    if _gzipped(path, options):
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    return open(path, "rb")  # closed by the caller's with


def _decoded(path: Path, options: FilesOptions, bad: list[BadRow]) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line that decodes in the declared encoding; the rest are bad rows."""
    with _open(path, options) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                text = line.decode(options.encoding)
            except UnicodeDecodeError as exc:
                bad.append(BadRow(number, f"byte {exc.start + 1} is not valid {options.encoding}"))
                continue
            yield number, text.rstrip("\r\n")


def _to_utf8(path: Path, options: FilesOptions) -> tuple[str, list[BadRow], list[int]]:
    """A UTF-8 copy without the lines that do not decode, and each kept line's number in the file."""
    bad: list[BadRow] = []
    kept: list[int] = [0]  # DuckDB numbers lines from 1
    handle, name = tempfile.mkstemp(prefix="onepane-files-", suffix=".csv")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        for number, text in _decoded(path, options, bad):
            out.write(text)
            out.write("\n")
            kept.append(number)
    return name, bad, kept


def _lines(path: Path, options: FilesOptions) -> FileRead:
    """JSON Lines or fixed-width, a line at a time: every bad line counted with its reason."""
    bad: list[BadRow] = []
    columns: dict[str, list[Any]] = {}
    count = 0
    parse = _fixed_parser(options) if options.format == "fixed" else _json_line
    for number, text in _decoded(path, options, bad):
        if not text.strip():
            continue
        row, problem = parse(text)
        if row is None:
            bad.append(BadRow(number, str(problem)))
            continue
        for name, value in row.items():
            values = columns.get(name)
            if values is None:
                values = columns[name] = [None] * count  # a key first seen now: absent before
            values.append(value)
        count += 1
        for values in columns.values():
            if len(values) < count:
                values.append(None)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return FileRead(path, table, bad[:options.bad_rows_shown], len(bad))


def _json_line(text: str) -> tuple[dict[str, str | None] | None, str | None]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON: {cut(str(exc), 120)}"
    if not isinstance(value, dict):
        return None, f"a JSON {type(value).__name__}, not an object"
    return {k: _as_text(v) for k, v in value.items()}, None


def _as_text(value: Any) -> str | None:
    """A JSON value as the text a CSV column would hold; objects and arrays as their JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _fixed_parser(options: FilesOptions) -> Any:
    positions = list(options.positions.items())
    width = max(last for _, (_, last) in positions)

    def parse(text: str) -> tuple[dict[str, str | None] | None, str | None]:
        # Trailing blanks are often trimmed, so a short line reads its missing columns as empty;
        # text past the record's width means the line is not laid out as the positions say.
        if len(text.rstrip()) > width:
            return None, f"{len(text.rstrip())} characters; records are {width} wide"
        return {name: (text[first - 1:last].strip() or None) for name, (first, last) in positions}, None

    return parse
