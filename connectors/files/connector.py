"""FilesConnector: export files as a source, served from an in-memory snapshot swapped in whole."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from connectors.files.config import FilesOptions
from connectors.files.reader import Unreadable
from connectors.files.snapshot import TEXT, Snapshot, build_snapshot
from connectors.sdk import (
    BaseConnector,
    Capabilities,
    Condition,
    ConnectorContext,
    EntityCapabilities,
    Health,
    Record,
    SearchRequest,
    SourceError,
    SourceUnavailable,
    lookup_names,
)
from federation.contract import DataAge, Op
from federation.keys import normalize_text

__all__ = ["FilesConnector"]

log = logging.getLogger(__name__)
FileStat = tuple[Path, int, int]  # path, size, mtime_ns
_TEXT = frozenset({"String", "ID"})
_PUSHED: frozenset[Op] = frozenset({"eq", "in", "prefix", "contains"})


class FilesConnector(BaseConnector):
    """A folder of export files: read when they change (and have settled), served from memory."""

    kind: ClassVar[str] = "files"
    options_model = FilesOptions
    options: FilesOptions

    def __init__(self, name: str, options: FilesOptions, context: ConnectorContext) -> None:
        super().__init__(name, options, context)
        self.path = (context.base_dir / options.path).resolve()
        self.snapshot: Snapshot | None = None
        self.problem: str | None = None  # why the files could not be read or found, now
        self._last_seen: tuple[FileStat, ...] | None = None  # the files as last seen, for settling
        self._seen_at = 0.0  # since when (monotonic) they have looked like that
        self._failed: tuple[FileStat, ...] | None = None  # a set of files already tried and unreadable
        self._watch: asyncio.Task[None] | None = None
        self._loading = asyncio.Lock()
        self._number = 0
        self._columns = {e: self._plain_text_fields(e) for e in self.mappers}

    # lifecycle

    async def open(self) -> None:
        if not await self.refresh() and self._last_seen and self.snapshot is None:
            await asyncio.sleep(self.options.settle)  # files that just landed: serve them once settled
            await self.refresh()
        if self._watch is None:
            self._watch = asyncio.create_task(self._poll(), name=f"files:{self.name}")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_interval)
            try:
                await self.refresh()
            except Exception:  # a watcher that dies would freeze the data silently: log and keep watching
                log.exception("source '%s': looking at the files failed", self.name)

    async def refresh(self) -> bool:
        """Look at the files once; read them into a new snapshot when they changed and have settled.

        True when a new snapshot now serves. A file still being written (its size or time changed
        since the last look, and younger than `settle`) waits for the next look.
        """
        async with self._loading:
            listed = await asyncio.to_thread(self._files)
            if listed is None:
                return False
            latest = self.options.files == "latest"
            found, older = (listed[-1:], listed[:-1]) if latest else (listed, ())
            now = time.monotonic()
            if found != self._last_seen:  # changed since the last look: its settling starts again
                self._last_seen, self._seen_at = found, now
            current = self.snapshot.signature if self.snapshot is not None else None
            if tuple((str(p), s, m) for p, s, m in found) == current:
                self.problem = None  # the files serving are all there (again)
                return False
            if found == self._failed:
                return False
            if not found:
                self.problem = f"no file matches '{self.options.pattern}' in {self.path}"
                return False
            young = time.time_ns() - max(m for _, _, m in found) < self.options.settle * 1e9
            if young and now - self._seen_at < self.options.settle:
                return False  # still landing: read once unchanged for `settle` seconds (or that old)
            return await self._load(found, older)

    def _files(self) -> tuple[FileStat, ...] | None:
        """The files to read, newest last; None (and the reason kept) when the folder is not there."""
        problem = self._folder_problem()
        if problem is not None:
            self.problem = problem
            return None
        if self.path.is_file():
            candidates = [self.path]
        else:
            try:
                candidates = [p for p in self.path.glob(self.options.pattern) if p.is_file()]
            except OSError as exc:
                self.problem = f"folder {self.path} cannot be read: {exc.strerror or exc}"
                return None
        stats = []
        for path in candidates:
            try:
                st = path.stat()
            except OSError:  # gone between the listing and now: the next look sees the folder as it is
                continue
            stats.append((path, st.st_size, st.st_mtime_ns))
        stats.sort(key=self._order)
        return tuple(stats)

    def _folder_problem(self) -> str | None:
        """Why `path` cannot be looked at, or None. Checked by listing it: glob alone reads a
        folder it may not list as an empty one, which would say "no file matches" instead."""
        path = self.path
        if not path.exists():
            return f"folder {path} does not exist"
        try:
            if path.is_dir():
                with os.scandir(path):
                    pass
            elif path.is_file():
                with path.open("rb"):
                    pass
            else:
                return f"{path} is neither a folder nor a file"
        except OSError as exc:
            return f"{'folder ' if path.is_dir() else ''}{path} cannot be read: {exc.strerror or exc}"
        return None

    def _order(self, stat: FileStat) -> tuple[Any, ...]:
        path, _, mtime = stat
        if self.options.as_of.source == "filename":
            named = self.options.as_of.from_name(path.name)
            return (named is not None, named.timestamp() if named else 0.0, path.name)
        return (mtime, path.name)

    async def _load(self, found: tuple[FileStat, ...], older: tuple[FileStat, ...] = ()) -> bool:
        """Read `found` into a new snapshot and swap it in. When it cannot be read, what serves
        stays; with nothing serving yet (`files: latest`), the newest older file that reads does,
        so a broken newest export never leaves the source empty."""
        started = time.perf_counter()
        try:
            snapshot = await self._build(found)
        except Exception as exc:  # never a crash: whatever failed, what serves stays
            if not isinstance(exc, Unreadable):  # not a file's fault we could name: the log has the trace
                log.exception("source '%s': reading %d file(s) failed", self.name, len(found))
            reason = str(exc) if isinstance(exc, Unreadable) else f"the files ({type(exc).__name__}, see the log)"
            instead = await self._older_instead(older) if self.snapshot is None else None
            if instead is not None:
                self._swap(instead, 1, started)
                kept = f"; the older {Path(instead.signature[0][0]).name} serves"
            else:
                kept = f"; snapshot {self.snapshot.number} keeps serving" if self.snapshot is not None else ""
            self._failed = found
            self.problem = f"cannot read {reason}{kept}"
            log.warning("source '%s': %s", self.name, self.problem)
            return instead is not None
        self._swap(snapshot, len(found), started)
        self.problem, self._failed = None, None
        return True

    async def _build(self, files: tuple[FileStat, ...]) -> Snapshot:
        self._number += 1
        searched = {column for columns in self._columns.values() for column in columns.values()}
        return await asyncio.to_thread(build_snapshot, self._number, files, self.options, self.mappers,
                                       self.context.region, searched, self.snapshot)

    async def _older_instead(self, older: tuple[FileStat, ...]) -> Snapshot | None:
        for stat in reversed(older):
            try:
                return await self._build((stat,))
            except Unreadable as exc:
                log.warning("source '%s': cannot read the older %s either", self.name, exc)
        return None

    def _swap(self, snapshot: Snapshot, files: int, started: float) -> None:
        for reason in snapshot.unreadable.values():
            log.warning("source '%s': cannot read %s; the other files serve", self.name, reason)
        for file, (count, shown) in snapshot.bad.items():
            log.warning("source '%s': %s: %d row(s) skipped; first: %s", self.name, file, count,
                        "; ".join(f"line {b.line}: {b.reason}" for b in shown[:3]))
        old, self.snapshot = self.snapshot, snapshot
        log.info("source '%s': snapshot %d serves %d rows from %d file(s), read in %.2f s", self.name,
                 snapshot.number, snapshot.rows, files, time.perf_counter() - started)
        if old is not None:
            old.close()

    # health and checks

    def data_age(self) -> DataAge | None:
        snapshot = self.snapshot
        return None if snapshot is None else DataAge(snapshot.as_of, self.options.max_age)

    async def ready(self) -> Health:
        snapshot = self.snapshot
        if snapshot is None:
            return Health(ok=False, detail=self.problem or "no snapshot read yet")
        detail = f"snapshot {snapshot.number}: {snapshot.rows} rows as of {snapshot.as_of.isoformat()}"
        age = self.data_age()
        if age is not None and age.stale():
            detail += f"; stale: older than max_age {self.options.max_age:g} s"
        for reason in snapshot.unreadable.values():
            detail += f"; cannot read {reason}"
        if self.problem:
            detail += f"; {self.problem}"
        return Health(ok=True, detail=detail)

    async def verify(self) -> list[str]:
        problem = self._folder_problem()
        if problem is not None:
            return [f"options.path: {problem} (relative to {self.context.base_dir})"]
        snapshot = self.snapshot
        if snapshot is None:
            return []
        columns = [c for c in snapshot.table.column_names if not c.startswith("__onepane")]
        out = []
        for entity, mapper in self.mappers.items():
            mapping = mapper.mapping
            specs = [("id", mapping.id), *(
                (f"{kind}.{n}", s) for kind, group in (("fields", mapping.fields), ("keys", mapping.keys),
                                                      ("refs", mapping.refs)) for n, s in group.items())]
            for at, spec in specs:
                out += [f"entities.{entity}.{at}: no column '{c}' in the files (valid: {', '.join(columns)})"
                        for c in spec.origin if c not in columns]
        return out

    async def warnings(self) -> list[str]:
        out = [f"options.path: {self.problem}"] if self.problem else []
        snapshot = self.snapshot
        if snapshot is not None:
            out += [f"options.path: cannot read {why}; the other files serve" for why in snapshot.unreadable.values()]
            for file, (count, shown) in snapshot.bad.items():
                out.append(f"{file}: {count} row(s) skipped, the rest serve")
                out += [f"{file}: line {b.line}: {b.reason}" if b.line else f"{file}: {b.reason}" for b in shown]
        return out

    # capabilities

    def capabilities(self) -> Capabilities:
        return Capabilities(entities={
            entity: EntityCapabilities(
                lookups=lookup_names(mapper.mapping),
                filters={name: _PUSHED for name in self._columns[entity]},
                unique_keys=mapper.mapping.unique_keys,
            )
            for entity, mapper in self.mappers.items()
        })

    def _plain_text_fields(self, entity: str) -> dict[str, str]:
        """Text fields read from one column as written: a search on them is answered by DuckDB."""
        mapper = self.mappers[entity]
        out = {}
        for name, spec in mapper.mapping.fields.items():
            decl = mapper.decl.fields.get(name)
            if (decl is not None and decl.type_ref.name in _TEXT and not decl.type_ref.is_list and not decl.normalize
                    and len(spec.origin) == 1 and not spec.transform):
                out[name] = spec.origin[0]
        return out

    # lookup and search

    def _serving(self, entity: str) -> Snapshot:
        if entity not in self.mappers:
            valid = ", ".join(sorted(self.mappers)) or "none"
            raise SourceError(self.name, f"no mapping for entity '{entity}' (valid: {valid})")
        snapshot = self.snapshot
        if snapshot is None:
            raise SourceUnavailable(self.name, self.problem or "its files have not been read yet")
        return snapshot

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        snapshot = self._serving(entity)  # one snapshot for the whole answer, whatever swaps meanwhile
        index = snapshot.indexes[entity].get(by)
        if index is None:
            valid = ", ".join(sorted(snapshot.indexes[entity]))
            raise SourceError(self.name, f"{entity} has no lookup '{by}' (valid: {valid})")
        wanted = {str(v) for v in values if v is not None and str(v) != ""}
        rows = sorted({row for v in wanted for row in index.rows(v)})
        accept = _matcher(by, wanted)
        return _unique(r for r in self._records(entity, snapshot, rows) if accept(r))

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        snapshot = self._serving(entity)
        where, params, pushed = self._where(entity, request.conditions)
        complete = pushed == len(request.conditions) and not request.order
        limit = request.limit if complete else None
        if where:
            rows = await asyncio.to_thread(snapshot.search_rows, " AND ".join(where), params, limit)
        else:
            rows = list(range(snapshot.rows if limit is None else min(limit, snapshot.rows)))
        return self._records(entity, snapshot, rows)

    def _where(self, entity: str, conditions: Sequence[Condition]) -> tuple[list[str], list[Any], int]:
        """DuckDB conditions on the text fields read from one column, compared as the core compares
        text (`normalize_text`: accents, case and spaces ignored) through the snapshot's normalized
        copy of the column, so DuckDB keeps exactly the rows the core's re-check keeps."""
        columns = self._columns[entity]
        where: list[str] = []
        params: list[Any] = []
        pushed = 0
        for c in conditions:
            column = columns.get(c.field)
            if column is None or c.op not in _PUSHED:
                continue
            values = [normalize_text(str(v)) for v in (c.value if c.op == "in" and isinstance(c.value, list | tuple)
                                                       else [c.value]) if v is not None]
            if not values or not all(values):  # blank text: left to the core
                continue
            quoted = '"' + (TEXT + column).replace('"', '""') + '"'
            if c.op == "in":
                where.append(f"{quoted} IN ({', '.join('?' for _ in values)})")
                params += values
            else:
                test = {"eq": "{} = ?", "prefix": "starts_with({}, ?)", "contains": "contains({}, ?)"}[c.op]
                where.append(test.format(quoted))
                params.append(values[0])
            pushed += 1
        return where, params, pushed

    def _records(self, entity: str, snapshot: Snapshot, rows: Sequence[int]) -> list[Record]:
        mapper = self.mappers[entity]
        out = []
        for row in snapshot.take(rows):
            try:
                record = mapper.to_record(row.get, snapshot.as_of)  # as old as its snapshot, whatever swaps next
            except (ValueError, TypeError) as exc:
                log.warning("source '%s' entity %s: record skipped: %s", self.name, entity, exc)
                continue
            if record.local_id:
                out.append(record)
        return out


def _matcher(by: str, wanted: set[str]) -> Callable[[Record], bool]:
    kind, _, name = by.partition(":")
    if kind == "key":
        return lambda r: bool(wanted.intersection(r.keys.get(name, ())))
    if kind == "ref":
        return lambda r: r.refs.get(name) in wanted
    return lambda r: r.local_id in wanted


def _unique(records: Any) -> list[Record]:
    out: dict[str, Record] = {}
    for record in records:
        out.setdefault(record.local_id, record)
    return list(out.values())
