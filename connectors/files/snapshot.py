"""A snapshot: every row of the export files read once into one Arrow table, with a hash index per
lookup (id, key, ref) of each mapped entity. Built off the event loop, swapped in whole."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from connectors.files.config import FilesOptions
from connectors.files.normal import Normal, normalized
from connectors.files.reader import BadRow, FileRead, Unreadable, read_file
from connectors.sdk import RecordMapper
from connectors.sdk.mapping import FieldMap
from connectors.sdk.regions import region_rule
from federation.records import Record

__all__ = ["ROW", "TEXT", "Part", "Signature", "Snapshot", "build_snapshot"]

ROW = "__onepane_row"  # the row's number in the snapshot, for DuckDB searches to answer with
TEXT = "__onepane_text:"  # + a column's name: its values as searches compare them (normalize_text)
Signature = tuple[tuple[str, int, int], ...]  # (path, size, mtime_ns) of each file read


@dataclass(frozen=True, slots=True)
class Index:
    """Rows by lookup value: `one` holds each value's first row, `many` every row of repeated values."""

    one: dict[str, int]
    many: dict[str, list[int]]

    def rows(self, value: str) -> list[int]:
        many = self.many.get(value)
        if many is not None:
            return many
        first = self.one.get(value)
        return [] if first is None else [first]


@dataclass(frozen=True, slots=True)
class Part:
    """Where one file's rows sit in the snapshot's table, and the export time that file gives."""

    start: int
    rows: int
    as_of: datetime | None  # from the file's name or column, as configured; None: not given there
    mtime: datetime


@dataclass(slots=True)
class Snapshot:
    """Immutable once built: readers hold a reference, so a swap never changes what they read."""

    number: int
    signature: Signature
    table: pa.Table
    as_of: datetime
    loaded_at: datetime
    indexes: dict[str, dict[str, Index]]  # entity -> lookup name -> value -> row numbers
    bad: dict[str, tuple[int, list[BadRow]]] = field(default_factory=dict)  # file -> (count, first few)
    parts: dict[str, Part] = field(default_factory=dict)  # file path -> its rows (files: all keeps each)
    unreadable: dict[str, str] = field(default_factory=dict)  # file name -> why it is left out (files: all)
    _con: duckdb.DuckDBPyConnection | None = None

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)

    def take(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        if not rows:
            return []
        if len(rows) == 1:  # a single key lookup: a slice copies nothing
            return list(self.table.slice(rows[0], 1).to_pylist())
        return list(self.table.take(pa.array(sorted(rows), pa.int64())).to_pylist())

    def search_rows(self, where: str, params: list[Any], limit: int | None) -> list[int]:
        """Row numbers matching a DuckDB condition over the snapshot's table (read in memory)."""
        if self._con is None:
            raise RuntimeError("snapshot closed")
        cursor = self._con.cursor()  # one cursor per call: searches may run in several threads
        try:
            cursor.register("snapshot", self.table)  # zero-copy: DuckDB scans the Arrow columns
            sql = f"SELECT {ROW} FROM snapshot WHERE {where} ORDER BY {ROW}" + (
                f" LIMIT {int(limit)}" if limit is not None else "")
            return [int(r[0]) for r in cursor.execute(sql, params).fetchall()]
        finally:
            cursor.close()

    def part(self, path: str) -> FileRead | None:
        """The rows one file gave this snapshot (as read, without the columns added here), or None."""
        part = self.parts.get(path)
        if part is None:
            return None
        table = self.table.slice(part.start, part.rows)
        table = table.select([c for c in table.column_names if not c.startswith("__onepane")])
        count, shown = self.bad.get(Path(path).name, (0, []))
        return FileRead(Path(path), table, shown, count)

    def close(self) -> None:
        """Searches still running on it finish on their own cursors; new ones go to the next snapshot."""
        self._con = None


def build_snapshot(number: int, files: Sequence[tuple[Path, int, int]], options: FilesOptions,
                   mappers: dict[str, RecordMapper], default_region: str, searched: Iterable[str] = (),
                   previous: Snapshot | None = None) -> Snapshot:
    """Read every file and index it. Unreadable propagates (the caller keeps its previous snapshot)
    when no file could be read; with several files, one that cannot be read is left out and named
    in `unreadable`, its rows from `previous` serving on when it had some: one broken file never
    holds back the others, nor empties the source."""
    reads: list[FileRead] = []
    times: list[tuple[datetime | None, datetime]] = []
    unreadable: dict[str, str] = {}
    for path, size, mtime in files:
        try:
            read = read_file(path, options)
            _validate(read, size, options, mappers)
        except Unreadable as exc:
            if len(files) == 1:
                raise
            kept = previous.part(str(path)) if previous is not None else None
            unreadable[path.name] = str(exc) + ("; its previous rows serve" if kept is not None else "")
            if kept is not None:
                reads.append(kept)
                old = previous.parts[str(path)] if previous is not None else None
                times.append((old.as_of, old.mtime) if old is not None else (None, _mtime(mtime)))
            continue
        reads.append(read)
        times.append((_file_as_of(path, read.table, options), _mtime(mtime)))
    reads, times = _fitting(reads, times, unreadable)
    if not reads:
        raise Unreadable("; ".join(unreadable.values()) or "no file to read")
    table = _union([r.table for r in reads])
    table = table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    for column in sorted(set(searched) & set(table.column_names)):
        # Searched text compared as the core compares it (accents, case, spaces): normalized once here.
        text = normalized(table.column(column), Normal("text", ""))
        table = table.append_column(TEXT + column, pa.array(text, pa.string()))
    indexes = {entity: _indexes(table, mapper, options, default_region) for entity, mapper in mappers.items()}
    parts: dict[str, Part] = {}
    start = 0
    for read, (named, changed) in zip(reads, times, strict=True):
        parts[str(read.path)] = Part(start, read.table.num_rows, named, changed)
        start += read.table.num_rows
    given = [p.as_of for p in parts.values() if p.as_of is not None]
    return Snapshot(
        number=number,
        signature=tuple((str(p), size, mtime) for p, size, mtime in files),
        table=table,
        as_of=max(given) if given else max(p.mtime for p in parts.values()),
        loaded_at=datetime.now(UTC),
        indexes=indexes,
        bad={r.path.name: (r.bad_count, r.bad) for r in reads if r.bad_count},
        parts=parts,
        unreadable=unreadable,
        _con=duckdb.connect(),
    )


def _fitting(reads: list[FileRead], times: list[tuple[datetime | None, datetime]], unreadable: dict[str, str]
             ) -> tuple[list[FileRead], list[tuple[datetime | None, datetime]]]:
    """The files whose columns can be put together with the older ones' (a Parquet file whose id
    column became a list cannot): the others are left out, named in `unreadable`."""
    try:
        pa.unify_schemas([r.table.schema for r in reads], promote_options="permissive")
        return reads, times
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    kept: list[FileRead] = []
    kept_times: list[tuple[datetime | None, datetime]] = []
    schema: pa.Schema | None = None
    for read, when in zip(reads, times, strict=True):
        try:
            joined = read.table.schema if schema is None else pa.unify_schemas(
                [schema, read.table.schema], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            reason = str(exc).split("\n", 1)[0][:200]
            unreadable[read.path.name] = f"{read.path.name}: its columns do not fit the other files': {reason}"
            continue
        schema = joined
        kept.append(read)
        kept_times.append(when)
    return kept, kept_times


def _mtime(mtime_ns: int) -> datetime:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC)


def _validate(read: FileRead, size: int, options: FilesOptions, mappers: dict[str, RecordMapper]) -> None:
    """A file that would empty the source, or that lacks a column the mapping reads, is not a new
    snapshot: Unreadable, so the previous one keeps serving (a truncated or re-shaped export)."""
    name = read.path.name
    if size == 0:
        raise Unreadable(f"{name}: the file is empty")
    if read.table.num_rows == 0 and read.bad_count:
        raise Unreadable(f"{name}: none of its {read.bad_count} row(s) could be read")
    columns = set(read.table.column_names)
    for entity, mapper in mappers.items():
        mapping = mapper.mapping
        # JSON Lines leave a key out of a line to say "no value": only the id must appear somewhere.
        specs = [mapping.id] if options.format == "jsonl" else [
            mapping.id, *mapping.fields.values(), *mapping.keys.values(), *mapping.refs.values()]
        missing = sorted({o for spec in specs for o in spec.origin if o not in columns})
        if missing and read.table.num_rows:
            raise Unreadable(f"{name}: no column {', '.join(repr(m) for m in missing)}, which {entity} is mapped "
                             f"from (columns: {', '.join(sorted(columns))})")


def _union(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    # Files of one export may gain or lose a column over time: absent columns read as nulls.
    return pa.concat_tables(tables, promote_options="permissive").combine_chunks()


def _file_as_of(path: Path, table: pa.Table, options: FilesOptions) -> datetime | None:
    """The export time one file gives as configured (its name, or the newest value of a column);
    None for `from: mtime`, or when the file does not give one (its modification time then counts)."""
    spec = options.as_of
    if spec.source == "filename":
        named = spec.from_name(path.name)
        return None if named is None else named if named.tzinfo else named.replace(tzinfo=UTC)
    if spec.source == "column" and spec.column in table.column_names:
        times = [_time(v) for v in table.column(str(spec.column)).to_pylist()]
        return max((t for t in times if t is not None), default=None)
    return None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _indexes(table: pa.Table, mapper: RecordMapper, options: FilesOptions, default_region: str) -> dict[str, Index]:
    """value -> row numbers for the entity's id, each mapped key (normalized as the model says) and ref.

    A lookup from one plain column is read column-wise; any other (transforms, several columns, a
    per-row country) maps each row as a lookup answer would, so both always agree.
    """
    mapping = mapper.mapping
    out: dict[str, Index] = {}
    specs: list[tuple[str, FieldMap, Normal | None]] = [("id", mapping.id, Normal("id", ""))]
    specs += [(f"ref:{n}", s, Normal("id", "")) for n, s in mapping.refs.items()]
    for name, key_spec in mapping.keys.items():
        decl = mapper.decl.keys.get(name)
        if decl is None:
            continue
        rule = region_rule((key_spec.region, mapping.region, options.region), default_region)
        kind = decl.normalize
        specs.append((f"key:{name}", key_spec, None if rule.origin is not None else Normal(kind, rule.fixed)))
    slow: list[str] = []
    for lookup, spec, how in specs:
        if how is not None and len(spec.origin) == 1 and not spec.transform and spec.origin[0] in table.column_names:
            out[lookup] = _column_index(normalized(table.column(spec.origin[0]), how))
        else:
            slow.append(lookup)
    if slow:
        records = [mapper.to_record(values.get) for values in table.to_pylist()]
        for lookup in slow:
            out[lookup] = _records_index(records, lookup)
    return out


def _column_index(values: list[str | None]) -> Index:
    """value -> rows; most values sit on one row, so that row is kept without a list around it."""
    one: dict[str, int] = {}
    setdefault = one.setdefault
    for row, value in enumerate(values):
        if value is not None:
            setdefault(value, row)
    many: dict[str, list[int]] = {}
    if len(one) < len(values) - values.count(None):  # some value repeats: only then list its rows
        for row, value in enumerate(values):
            if value is not None and one[value] != row:
                many.setdefault(value, [one[value]]).append(row)
    return Index(one, many)


def _records_index(records: list[Record], lookup: str) -> Index:
    one: dict[str, int] = {}
    many: dict[str, list[int]] = {}
    for row, record in enumerate(records):
        for value in _record_values(record, lookup):
            first = one.setdefault(value, row)
            if first != row:
                many.setdefault(value, [first]).append(row)
    return Index(one, many)


def _record_values(record: Record, lookup: str) -> tuple[str, ...]:
    kind, _, name = lookup.partition(":")
    if kind == "key":
        return tuple(record.keys.get(name, ()))
    if kind == "ref":
        ref = record.refs.get(name)
        return (ref,) if ref else ()
    return (record.local_id,) if record.local_id else ()
