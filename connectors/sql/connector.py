"""SqlConnector: batched lookups and pushed-down searches over SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from connectors.sdk.base import BaseConnector
from connectors.sdk.mapping import RecordMapper
from connectors.sql import indexes, query, scans, trino
from connectors.sql.aggregate import build as build_aggregate
from connectors.sql.aggregate import groups_served, sums_served
from connectors.sql.columns import ColumnFacts, facts_of, read_facts
from connectors.sql.config import SqlEntityMap, SqlOptions, resolve_url
from connectors.sql.direct import DirectPostgres, Fetch
from connectors.sql.errors import missing_driver, translate
from connectors.sql.limits import column_limits
from connectors.sql.plans import SQL_NORMALIZERS, IdPlan, Plan, field_plan, id_plan, key_plan, stored_key_plan
from connectors.sql.sqlite_calls import Call, SqliteCalls
from connectors.sql.sqlite_file import follow_path
from connectors.sql.verify import column_problems, select_columns, table_problems
from federation.contract import (
    SCAN_ROWS,
    AggregateRequest,
    AggregateRow,
    Capabilities,
    Condition,
    ConnectorContext,
    EntityCapabilities,
    Health,
    Op,
    SearchRequest,
    TrinoView,
    ValueLimit,
)
from federation.drafts import DraftRequest
from federation.errors import SourceError, SourceUnavailable
from federation.keys import normalize, normalize_text
from federation.model.declaration import EntityDecl
from federation.records import Record

__all__ = ["SqlConnector"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_Target = Callable[[query.TextFold], query.Clause]
_Params = Callable[[list[str]], tuple[list[Any], list[str]]]

_BURST = 10  # connections a source may open past pool_size under a burst of calls

# Bound parameters one statement may carry, per dialect (SQLite before 3.32 allowed 999).
_PARAM_LIMIT = {
    "sqlite": 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999,
    "postgresql": 32_767,
    "mysql": 65_535,
    "mariadb": 65_535,
}


@dataclass(frozen=True, slots=True)
class _Way:
    """One way a lookup compares: what the WHERE tests, the parameters for some values (and the
    values this way cannot match exactly), and at most how many parameters one value binds."""

    target: _Target
    params: _Params
    per_value: int
    plain: bool  # the bare column: a plain index of it serves the lookup


@dataclass(frozen=True, slots=True)
class _Entity:
    """What SQL can do for one mapped entity, worked out once from the config."""

    source: query.Source
    ids: dict[str, IdPlan] = field(default_factory=dict)
    keys: dict[str, tuple[Plan, str]] = field(default_factory=dict)
    filters: dict[str, Plan | tuple[Plan, str]] = field(default_factory=dict)
    # A key read from several columns (phone and fax): `key:phone` is asked as one lookup per
    # column, `key:phone` and `key:phone@fax`, ORed in one statement like any lookups of a tick.
    split: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, mapper: RecordMapper, text_pushdown: str) -> _Entity:
        """Plans for what SQL compares exactly like the core; String text only when asked (casefold)."""
        mapping = mapper.mapping
        assert isinstance(mapping, SqlEntityMap)
        out = cls(query.Source(mapping, mapper.region_origins))
        stored = mapping.lookup_columns
        for name, spec in {"id": mapping.id, **{f"ref:{r}": s for r, s in mapping.refs.items()}}.items():
            plan = id_plan(spec)
            if plan is not None and name in stored:
                plan = dataclasses.replace(plan, columns=(stored[name],), stored=True)
            if plan is not None and (name == "id" or len(plan.columns) == 1):
                out.ids[name] = plan
        for name, spec in mapping.keys.items():
            normalizer = mapper.decl.keys[name].normalize if name in mapper.decl.keys else "exact"
            kplan = key_plan(spec, normalizer)
            if f"key:{name}" in stored:  # the column holds the normalized value, from one column or several joined
                if kplan is None:
                    kplan = stored_key_plan(spec, stored[f"key:{name}"])
                elif kplan.also:
                    kplan = None  # one stored column cannot hold the compared forms of several (problems() says so)
                else:
                    kplan = dataclasses.replace(kplan, column=stored[f"key:{name}"], stored=True)
            if kplan is not None and normalizer not in SQL_NORMALIZERS and not kplan.stored:
                continue  # SQL cannot compute a soundex or a year: only a stored column serves it
            if kplan is not None and (kplan.style != "text" or kplan.stored or text_pushdown == "casefold"):
                out.keys[name] = (dataclasses.replace(kplan, also=()), normalizer)
                if kplan.also:  # searches compare one column (connector._condition): not pushed
                    out.split[f"key:{name}"] = (f"key:{name}", *(f"key:{name}@{c}" for c in kplan.also))
                    out.keys.update({f"{name}@{c}": (dataclasses.replace(kplan, column=c, also=()), normalizer)
                                     for c in kplan.also})
                else:
                    out.filters[name] = (kplan, normalizer)
        for name, spec in mapping.fields.items():
            out.filters.pop(name, None)  # a field shadows a key of the same name, as in the core
            decl = mapper.decl.fields.get(name)
            fplan = field_plan(spec, decl.type_ref.name, mapper.model) if decl else None
            if fplan is not None and (fplan.style != "text" or text_pushdown == "casefold"):
                out.filters[name] = fplan
        return out

    def capabilities(self) -> EntityCapabilities:
        lookups = {*self.ids, *(f"key:{k}" for k in self.keys if "@" not in k)}
        filters: dict[str, frozenset[Op]] = {n: (p if isinstance(p, Plan) else p[0]).ops
                                             for n, p in self.filters.items()}
        sortable = {n for n, p in self.filters.items() if isinstance(p, Plan) and p.sortable}
        return EntityCapabilities(lookups=frozenset(lookups), filters=filters, sortable=frozenset(sortable))


class SqlConnector(BaseConnector):
    """Reads legacy tables through SQLAlchemy Core; read-only, bound parameters only."""

    kind = "sql"
    options_model = SqlOptions
    drafts = frozenset({"sql"})

    @classmethod
    async def draft(cls, kind: str, request: DraftRequest) -> str:
        from connectors.sql.draft import draft_sql  # the drafting code loads only for `federation import`

        return await draft_sql(request, cls)

    def __init__(self, name: str, options: Any, context: ConnectorContext) -> None:
        super().__init__(name, options, context)
        self.options: SqlOptions = options
        self._engine: AsyncEngine | None = None
        self._entities = {entity: _Entity.build(mapper, self.options.text_pushdown)
                          for entity, mapper in self.mappers.items()}
        self._kinds: dict[str, Mapping[str, query.Kind]] = {}
        self._facts: dict[str, Mapping[str, ColumnFacts]] = {}
        self._fold: query.TextFold | None = None
        self._statements: dict[tuple[str, tuple[str, ...], tuple[bool, ...]], sa.Select[Any]] = {}
        self._direct: DirectPostgres | None = None
        self._ways: dict[tuple[int, str], tuple[Mapping[str, query.Kind], Mapping[str, ColumnFacts], list[_Way]]] = {}
        self._sqlite_calls: SqliteCalls | None = None  # set when the engine is SQLite's (threaded driver)

    def problems(self) -> list[str]:
        out = super().problems()
        for entity, spec in self._entities.items():
            lookups = spec.capabilities().lookups
            mapping = self.mappers[entity].mapping
            assert isinstance(mapping, SqlEntityMap)
            several = {f"key:{k}" for k, key in mapping.keys.items() if len(key.origin) > 1 and not key.transform}
            out += [f"entities.{entity}.lookup_columns.{name}: this key is read from several columns "
                    f"({', '.join(mapping.keys[name[4:]].origin)}); one lookup column cannot hold them all"
                    if name in several else
                    f"entities.{entity}.lookup_columns.{name}: this lookup's mapping is not compared in SQL "
                    "(a transform SQL cannot repeat), so a lookup column cannot serve it"
                    for name in mapping.lookup_columns if name not in lookups]
        return out

    # lifecycle

    async def open(self) -> None:
        self._require_engine()

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if self._direct is not None:  # its kept connections back to the pool, then disposed with it
            await self._direct.close()
        if self._sqlite_calls is not None:  # calls whose callers left still hold connections
            await self._sqlite_calls.drain(self.options.statement_timeout + 1)
        if engine is not None:
            await engine.dispose()

    async def health(self) -> Health:
        try:
            await self._run(lambda conn: conn.execute(sa.text("SELECT 1")))
        except SourceError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True, detail="SELECT 1 answered")

    async def ready(self) -> Health:
        """What a lookup reads answers: each mapped table's (or select's) columns, zero rows.

        One parameter-free `SELECT <mapped columns> … WHERE false` per entity on one connection.
        An unreachable database is a passing fault; a statement that fails on a database that
        answers (a table or column gone, a grant revoked) is the mapping's, named from `verify`.
        """
        async def work(conn: AsyncConnection) -> list[str]:
            failed = []
            for entity, spec in self._entities.items():
                try:
                    (await conn.execute(spec.source.probe())).close()
                except Exception as exc:
                    error = translate(self.name, exc, connecting=False, timeout=self.options.statement_timeout)
                    if isinstance(error, SourceUnavailable):
                        raise error from exc
                    failed.append(f"{entity} ({type(exc).__name__})")
            return failed

        try:
            failed = await self._run(work)
        except SourceError as exc:
            return Health(ok=False, detail=str(exc))
        if not failed:
            return Health(ok=True, detail=f"{len(self._entities)} mapped table(s) readable")
        try:
            found = await self.verify()
        except SourceError:
            found = []
        detail = "; ".join(found) or f"cannot read the mapped columns of {', '.join(failed)}"
        return Health(ok=False, detail=f"{self.name}: {detail}", mapping_fault=True)

    def capabilities(self) -> Capabilities:
        return Capabilities(entities={e: dataclasses.replace(
            spec.capabilities(), keys=frozenset(self.mappers[e].mapping.keys),
            unique_keys=self.mappers[e].mapping.unique_keys,
            aggregates=groups_served(self.mappers[e]), sums=sums_served(self.mappers[e]))
            for e, spec in self._entities.items()})

    async def verify(self) -> list[str]:
        """Every mapped table, view and column checked against the live database."""
        out: list[str] = []
        for entity, mapper in self.mappers.items():
            mapping = mapper.mapping
            assert isinstance(mapping, SqlEntityMap)
            try:
                found = await self._run(functools.partial(self._verify_entity, mapping=mapping,
                                                          regions=mapper.region_origins),
                                        timeout=max(10.0, self.options.statement_timeout))
            except SourceError as exc:
                found = [f"{'table' if mapping.table else 'select'}: cannot check ({exc})"]
            out += [f"entities.{entity}.{p}" for p in found]
        return out

    async def _verify_entity(self, conn: AsyncConnection, mapping: SqlEntityMap,
                             regions: Sequence[str] = ()) -> list[str]:
        exact_case = conn.dialect.name == "postgresql"
        if mapping.table is not None:
            return await conn.run_sync(table_problems, mapping, regions)
        assert mapping.select is not None
        result = await conn.execute(select_columns(mapping.select))
        columns = list(result.keys())
        result.close()
        return column_problems(mapping, "the custom select", columns, exact_case, regions)

    async def value_limits(self) -> dict[str, dict[str, ValueLimit]]:
        """What each table-mapped entity's columns can hold, from their declared types."""
        out: dict[str, dict[str, ValueLimit]] = {}
        for entity, mapper in self.mappers.items():
            mapping = mapper.mapping
            assert isinstance(mapping, SqlEntityMap)
            decl = self.context.model.entities.get(entity)

            async def work(conn: AsyncConnection, mapping: SqlEntityMap = mapping,
                           decl: EntityDecl | None = decl) -> dict[str, ValueLimit]:
                return await conn.run_sync(column_limits, mapping, decl)

            out[entity] = await self._run(work)
        return out

    def trino_catalog(self) -> Mapping[str, str] | str:
        return trino.trino_catalog(self.name, self.options.url)

    def trino_view(self, entity: str) -> TrinoView | str:
        mapper = self.mappers.get(entity)
        if mapper is None:
            return f"{self.name} does not map {entity}"
        assert isinstance(mapper.mapping, SqlEntityMap)
        return trino.trino_view(self.options.url, mapper.mapping, mapper.decl)

    async def warnings(self) -> list[str]:
        """What `federation check` says about email and code keys and `tidy: true` (KeyMap.tidy):
        a key declared tidy whose sampled values are not (lookups miss those rows), and one not
        declared whose lookup reads a whole large table while its sampled values are tidy and an
        index the table already has would serve the tidy comparison."""
        out: list[str] = []
        for entity in self._entities:
            try:
                out += await self._run(functools.partial(self._tidy_findings, entity=entity),
                                       timeout=max(10.0, self.options.statement_timeout))
            except SourceError:  # unreachable: the health column says so
                continue
        return out

    async def _tidy_findings(self, conn: AsyncConnection, entity: str) -> list[str]:
        spec = self._entity(entity)
        keyed = {n: k for n, k in spec.keys.items() if k[0].style in ("email", "code") and not k[0].stored
                 and "@" not in n and f"key:{n}" not in spec.split}
        if not keyed:
            return []
        kinds = await self._kinds_for(conn, entity, spec)
        facts = await self._facts_for(conn, entity)
        fold = await self._fold_for(conn)
        big: bool | None = None
        out: list[str] = []
        for name, (plan, normalizer) in keyed.items():
            col = spec.source.col(plan.column)
            sample = sa.select(col).select_from(spec.source.from_).where(col.is_not(None)).limit(_TIDY_SAMPLE)
            values = [row[0] for row in (await conn.execute(sample)).all()]
            untidy = [v for v in values if not _tidy(plan.style, normalizer, v)]
            if plan.tidy:
                if untidy:
                    out.append(f"entities.{entity}.keys.{name}: declared tidy: true, but {len(untidy)} of the "
                               f"{len(values)} sampled values are not written as the key's normal form apart from "
                               f"case and blanks at either end (e.g. {str(untidy[0])!r}); lookups by {name} do not "
                               "find those rows: remove tidy: true")
                continue
            if untidy or not values:
                continue
            if big is None:
                big = await scans.more_rows_than(conn, spec.source.from_, SCAN_ROWS)
            by = f"key:{name}"
            asked = {by: [self._sample(spec, by, kinds, facts)]}
            ways = [(by, way, params) for _, way, params, _ in self._choose(spec, asked, kinds, facts)]
            if not big or not ways or not await scans.scanned_tables(
                    conn, self._lookup_statement(entity, spec, [w[:2] for w in ways], fold), {"v0": ways[0][2]}):
                continue  # already served (or a small table): nothing to gain
            tidy = dataclasses.replace(spec, keys={**spec.keys,
                                                   name: (dataclasses.replace(plan, tidy=True), normalizer)})
            chosen = self._choose(tidy, asked, kinds, facts)
            if not chosen:
                continue
            _, way, params, _ = chosen[0]
            # Its own cache entry: the same lookup compares another way here.
            statement = self._lookup_statement(f"{entity} (tidy)", tidy, [(by, way)], fold)
            if await scans.scanned_tables(conn, statement, {"v0": params}):
                continue  # no index the table has serves it either: `indexes` advises one
            dialect = self._require_engine().dialect
            compared = (f"the bare column {plan.column}" if way.plain else
                        str(query.key_expr(tidy.keys[name][0], sa.column(plan.column), kinds.get(plan.column))
                            .compile(dialect=dialect)))
            out.append(f"entities.{entity}.keys.{name}: each lookup by {name} reads every row of a table of more "
                       f"than {SCAN_ROWS:,}, and all {len(values)} sampled values are written as the key's normal "
                       f"form apart from case and blanks at either end; if every value is, declare it, {name}: "
                       f"{{column: {plan.column}, tidy: true}}, and the lookup compares {compared}, which an index "
                       "the table already has serves")
        return out

    async def index_advice(self, min_rows: int | None = SCAN_ROWS) -> list[str]:
        """The one index each lookup that would read a whole table of more than `min_rows` rows
        needs, in this database's dialect; with `min_rows=None`, one for every lookup."""
        out: list[str] = []
        for entity in self._entities:
            mapping = self.mappers[entity].mapping
            assert isinstance(mapping, SqlEntityMap)
            scanning, kinds = await self._scanning(entity, min_rows)
            if not scanning:
                continue
            if mapping.table is None:
                out.append(f"-- {entity}: read through a custom select; index the tables it reads")
                continue
            spec = self._entity(entity)
            out += [f"-- {entity} {by}: read from columns {', '.join(spec.keys[b[4:]][0].column for b in bys)}; "
                    "each is compared like a one-column key and needs its own index" for by, bys in spec.split.items()]
            out += indexes.advice(self.name, entity, mapping.table, scanning, kinds, self._require_engine().dialect)
        return out

    async def slow_lookups(self, min_rows: int = SCAN_ROWS) -> list[str]:
        """Each lookup whose plan reads every row of a table holding more than `min_rows`, with
        the one index that would fix it (what `federation indexes` prints for it)."""
        out: list[str] = []
        for entity in self._entities:
            mapping = self.mappers[entity].mapping
            assert isinstance(mapping, SqlEntityMap)
            scanning, kinds = await self._scanning(entity, min_rows)
            where = f"table {mapping.table}" if mapping.table is not None else "the custom select"
            for lookup in scanning:
                fix = (indexes.advice(self.name, entity, mapping.table, [lookup], kinds,
                                      self._require_engine().dialect) if mapping.table is not None
                       else ["index the tables the custom select reads"])
                out.append(f"entities.{entity}.{lookup.name}: reads every row of {where} (more than "
                           f"{min_rows:,}) for each lookup; the index that fixes it: {' '.join(fix)}")
        return out

    async def _scanning(self, entity: str,
                        min_rows: int | None) -> tuple[list[indexes.Lookup], Mapping[str, query.Kind]]:
        """The lookups of `entity` whose real statement, EXPLAINed with a sample value, reads a
        whole table of more than `min_rows` rows (every lookup when None), each with how it
        compares (the bare column or the expression)."""
        spec = self._entity(entity)

        async def work(conn: AsyncConnection) -> tuple[list[indexes.Lookup], Mapping[str, query.Kind]]:
            kinds = await self._kinds_for(conn, entity, spec)
            facts = await self._facts_for(conn, entity)
            fold = await self._fold_for(conn)
            if min_rows is not None and not await scans.more_rows_than(conn, spec.source.from_, min_rows):
                return [], kinds
            found: list[indexes.Lookup] = []
            # A key read from several columns is one lookup per column (`key:phone@fax`): each is
            # advised in index_advice's note, not as a lookup of its own here.
            plans: dict[str, Plan | IdPlan] = {**spec.ids, **{f"key:{n}": p for n, (p, _) in spec.keys.items()
                                                              if f"key:{n}" not in spec.split and "@" not in n}}
            for by, plan in plans.items():
                chosen = self._choose(spec, {by: [self._sample(spec, by, kinds, facts)]}, kinds, facts)
                if not chosen:
                    continue
                _, way, params, _ = chosen[0]
                if min_rows is not None:
                    statement = self._lookup_statement(entity, spec, [(by, way)], fold)
                    if not await scans.scanned_tables(conn, statement, {"v0": params}):
                        continue
                found.append(indexes.Lookup(by, plan, plain=way.plain and not plan.stored))
            return found, kinds

        return await self._run(work, timeout=max(10.0, self.options.statement_timeout))

    def _sample(self, spec: _Entity, by: str, kinds: Mapping[str, query.Kind],
                facts: Mapping[str, ColumnFacts]) -> str:
        """A value of the form real traffic sends for this lookup, for EXPLAIN."""
        dialect = self._require_engine().dialect.name
        if by in spec.ids:
            plan = spec.ids[by]
            numeric = [kinds.get(c) == "int" or bool((f := facts_of(facts, c, dialect)) and f.integers)
                       for c in plan.columns]
            parts = ["1" if n else "X1" for n in numeric]
            return (plan.sep or "").join(parts)
        kplan, _ = spec.keys[by.partition(":")[2]]
        column = facts_of(facts, kplan.column, dialect)
        integers = kinds.get(kplan.column) == "int" or bool(column and column.integers)
        return {"email": "someone@example.com", "phone": "+442079460958", "code": "AB123"}.get(
            kplan.style, "1" if integers else "X1")

    # verbs

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        return await self.lookup_many(entity, {by: values})

    async def lookup_many(self, entity: str, wanted: Mapping[str, Sequence[str]]) -> Sequence[Record]:
        """Several lookups of one entity in one statement: `WHERE a IN (…) OR b IN (…)`.

        Each lookup's expression has its own index (see indexes.py), which every engine combines
        for an OR (bitmap OR, multi-index OR, index merge). Lookups too large for one statement's
        parameters go one chunk at a time, as a single lookup does.
        """
        spec = self._entity(entity)
        wanted = {part: values for by, values in wanted.items() for part in spec.split.get(by, (by,))}
        asked = {by: list(dict.fromkeys(v for v in values if v)) for by, values in wanted.items()}
        asked = {by: values for by, values in asked.items() if values}
        if not asked:
            return []
        for by in asked:
            if not (by in spec.ids or (by.startswith("key:") and by[4:] in spec.keys)):
                self._lookup_ways(spec, by, {}, {})  # an unknown lookup fails (its error) before any connection
        dialect = self._require_engine().dialect.name
        limit = _PARAM_LIMIT.get(dialect, 999)

        def statements(kinds: Mapping[str, query.Kind], facts: Mapping[str, ColumnFacts],
                       fold: query.TextFold) -> Iterator[tuple[sa.Select[Any], dict[str, list[Any]]]]:
            chosen = self._choose(spec, asked, kinds, facts)
            if len(chosen) > 1 and sum(len(p) for _, _, p, _ in chosen) <= min(limit, self.options.max_batch):
                statement = self._lookup_statement(entity, spec, [(by, way) for by, way, _, _ in chosen], fold)
                yield statement, {f"v{i}": p for i, (_, _, p, _) in enumerate(chosen)}
                return
            for by, way, params, taken in chosen:
                statement = self._lookup_statement(entity, spec, [(by, way)], fold)
                size = max(1, min(self.options.max_batch, limit // way.per_value))
                if len(taken) <= size:  # one chunk: its parameters are those _choose worked out
                    yield statement, {"v0": params}
                    continue
                for chunk in _chunks(taken, size):
                    if chunk_params := way.params(chunk)[0]:
                        yield statement, {"v0": chunk_params}

        async def work(conn: AsyncConnection) -> list[Any]:
            kinds = await self._kinds_for(conn, entity, spec)
            facts = await self._facts_for(conn, entity)
            fold = await self._fold_for(conn)
            rows: list[Any] = []
            for statement, bound in statements(kinds, facts, fold):
                rows.extend(row._mapping for row in (await conn.execute(statement, bound)).all())
            return rows

        async def direct(fetch: Fetch) -> list[Any]:
            assert self._fold is not None
            rows: list[Any] = []
            for statement, bound in statements(self._kinds[entity], self._facts[entity], self._fold):
                rows.extend(await fetch(statement, bound))
            return rows

        # What a lookup compares is read from the database on an entity's first lookup (through
        # SQLAlchemy); every later one on PostgreSQL goes straight to the driver (direct.py).
        direct_ok = self._direct is not None and not self._direct.observed()
        if direct_ok and entity in self._kinds and entity in self._facts and self._fold is not None:
            found = await self._run_direct(direct)
        else:
            found = await self._run(work)
        # A row two lookups found comes back twice from separate statements: `_records` keeps one
        # record per local id. (Deduplicated as records, not rows: a row may hold a value that
        # cannot be hashed, an array.)
        sets = [(by, set(values)) for by, values in asked.items()]
        records = self._records(entity, found, mapped=True)
        return [r for r in records if any(_found(r, by, values) for by, values in sets)]

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        spec = self._entity(entity)

        async def work(conn: AsyncConnection) -> list[Row[Any]]:
            kinds = await self._kinds_for(conn, entity, spec)
            fold = await self._fold_for(conn)
            result = await conn.execute(self._search_statement(spec, kinds, request, fold))
            return list(result.all())

        return self._records(entity, await self._run(work))

    async def aggregate(self, entity: str, request: AggregateRequest) -> Sequence[AggregateRow] | None:
        """One GROUP BY statement; None when it could differ from grouping the records (aggregate.py)."""
        spec = self._entity(entity)

        async def work(conn: AsyncConnection) -> list[AggregateRow] | None:
            kinds = await self._kinds_for(conn, entity, spec)
            fold = await self._fold_for(conn)
            plan = build_aggregate(self.mappers[entity], spec.source, spec.filters, request, kinds,
                                   conn.dialect.name, fold, self.options.max_rows)
            if plan is None:
                return None
            result = await conn.execute(plan.statement)
            return plan.rows(list(result.all()))

        return await self._run(work)

    # statements

    def _choose(self, spec: _Entity, asked: Mapping[str, list[str]], kinds: Mapping[str, query.Kind],
                facts: Mapping[str, ColumnFacts]) -> list[tuple[str, _Way, list[Any], list[str]]]:
        """(lookup, way, parameters, values) to send: the bare column for the values it matches
        exactly, the expression for the rest."""
        chosen: list[tuple[str, _Way, list[Any], list[str]]] = []
        for by, values in sorted(asked.items()):
            for way in self._ways_of(spec, by, kinds, facts):
                params, values_left = way.params(values)
                if params:  # no value a column could hold: not asked
                    left = set(values_left)
                    chosen.append((by, way, params, [v for v in values if v not in left]))
                if not values_left:
                    break
                values = values_left
        return chosen

    def _lookup_statement(self, entity: str, spec: _Entity, chosen: Sequence[tuple[str, _Way]],
                          fold: query.TextFold) -> sa.Select[Any]:
        """Built once per (entity, lookups, ways): each IN list is one expanding parameter (`v0`, …)."""
        key = (entity, tuple(by for by, _ in chosen), tuple(way.plain for _, way in chosen))
        statement = self._statements.get(key)
        if statement is None:
            tests = [way.target(fold).in_(sa.bindparam(f"v{i}", expanding=True))
                     for i, (_, way) in enumerate(chosen)]
            statement = spec.source.select().where(sa.or_(*tests))
            self._statements[key] = statement
        return statement

    def _ways_of(self, spec: _Entity, by: str, kinds: Mapping[str, query.Kind],
                 facts: Mapping[str, ColumnFacts]) -> list[_Way]:
        """`_lookup_ways`, worked out once per lookup for the catalogue facts read (they are read
        once per entity and kept: the same objects every later call)."""
        key = (id(spec), by)
        kept = self._ways.get(key)
        if kept is not None and kept[0] is kinds and kept[1] is facts:
            return kept[2]
        ways = self._lookup_ways(spec, by, kinds, facts)
        self._ways[key] = (kinds, facts, ways)
        return ways

    def _lookup_ways(self, spec: _Entity, by: str, kinds: Mapping[str, query.Kind],
                     facts: Mapping[str, ColumnFacts]) -> list[_Way]:
        """How a lookup can compare, best first: the bare column where the database's own
        comparison stands in for the normalizing expression (query.plain_params), then the
        expression, which matches every value."""
        dialect = self._require_engine().dialect.name
        if by in spec.ids:
            plan = spec.ids[by]
            cols = [spec.source.col(c) for c in plan.columns]
            col_kinds = query.column_kinds(kinds, plan.columns)
            ways = [_Way(lambda _fold: query.id_target(plan, cols, col_kinds),
                         lambda chunk: (query.id_params(plan, col_kinds, chunk), []), len(cols), plan.stored)]
            column_facts = facts_of(facts, plan.columns[0], dialect)
            folds = plan.case != ""
            if len(cols) == 1 and not plan.stored and col_kinds[0] in (None, "str") and query.plain_serves(
                    column_facts, col_kinds[0], folds):
                ways.insert(0, _Way(
                    lambda _fold: cols[0],
                    lambda chunk: query.plain_params(column_facts, col_kinds[0], folds, chunk,
                                                     lambda value: [value.strip()]),
                    query.plain_per_value(column_facts), True))
            return ways
        kind, _, name = by.partition(":")
        if kind == "key" and name in spec.keys:
            kplan, normalizer = spec.keys[name]
            col = spec.source.col(kplan.column)
            region = self.context.region
            col_kind = kinds.get(kplan.column)
            ways = [_Way(lambda fold: query.key_expr(kplan, col, col_kind, fold),
                         lambda chunk: (query.key_params(kplan, normalizer, chunk, region), []),
                         4 if kplan.style == "phone" else 1, kplan.stored)]
            column_facts = facts_of(facts, kplan.column, dialect)
            # Only exact and tidy keys: an email key drops every space inside (normalize_email) and
            # phone and code keys more, which no equality on the bare column can stand in for; their
            # expression also returns the rows SQL cannot judge (query.UNSURE), so one question
            # has one answer (tests/integration/test_one_answer.py found a tab a _ci column kept).
            # A tidy key (KeyMap.tidy) needs only trim and case: a `_ci` PAD SPACE column does both.
            folds = kplan.tidy
            if not kplan.stored and (kplan.style == "exact" or kplan.tidy) and query.plain_serves(
                    column_facts, col_kind, folds):
                ways.insert(0, _Way(
                    lambda _fold: col,
                    lambda chunk: query.plain_params(
                        column_facts, col_kind, folds, chunk,
                        lambda value: query.key_params(kplan, normalizer, [value], region)),
                    query.plain_per_value(column_facts), True))
            return ways
        valid = ", ".join(sorted(spec.capabilities().lookups))
        raise SourceError(self.name, f"cannot look up by '{by}' (valid: {valid})")

    def _search_statement(self, spec: _Entity, kinds: Mapping[str, query.Kind],
                          request: SearchRequest, fold: query.TextFold) -> sa.Select[Any]:
        clauses = [self._condition(spec, kinds, c, fold) for c in request.conditions]
        pushed = [c for c in clauses if c is not None]
        stmt = spec.source.select().where(*pushed)
        limit = self.options.max_rows
        plans = [spec.filters.get(k.field) for k in request.order]
        # A phone, email or code key condition selects a superset (query.key_expr) the core narrows:
        # a LIMIT on it could cut rows that match and keep rows that do not.
        wider = any(isinstance(f := spec.filters.get(c.field), tuple) and query.widens(f[0])
                    for c in request.conditions)
        # Dates held as text compare and sort as text: one that is no date ('1980-02-31', 'N/A')
        # passes a range or sorts among the dates, where the core finds no value. A LIMIT then
        # keeps it in place of a row that matches (found by the conformance kit).
        compared = [*(spec.filters.get(c.field) for c in request.conditions), *plans]
        wider = wider or any(isinstance(p, Plan) and query.text_date(p, kinds.get(p.column)) for p in compared)
        if len(pushed) == len(clauses) and not wider and all(isinstance(p, Plan) and p.sortable for p in plans):
            for key, plan in zip(request.order, plans, strict=True):
                assert isinstance(plan, Plan)
                col = spec.source.col(plan.column)
                stmt = stmt.order_by(*query.order_terms(plan, col, kinds.get(plan.column), key.descending))
            if request.limit is not None:
                limit = min(limit, request.limit)
        return stmt.limit(limit)

    def _condition(self, spec: _Entity, kinds: Mapping[str, query.Kind], condition: Condition,
                   fold: query.TextFold) -> query.Clause | None:
        plan = spec.filters.get(condition.field)
        if plan is None:
            return None
        if isinstance(plan, Plan):
            if condition.op not in plan.ops:
                return None
            return query.condition_clause(plan, spec.source.col(plan.column), kinds.get(plan.column), condition, fold)
        kplan, normalizer = plan
        if condition.op not in kplan.ops:
            return None
        value = condition.value
        values = list(value) if condition.op == "in" and isinstance(value, list | tuple) else [value]
        # The core compares key conditions with already-normalized key values as text (a phone's
        # digits key is a normal form too, though it is no E.164: phone_tails reads both).
        values = [v for v in values if isinstance(v, str)
                  and (normalizer == "phone" or _normal_form(normalizer, v, self.context.region))]
        return query.key_clause(kplan, normalizer, spec.source.col(kplan.column), kinds.get(kplan.column),
                                values, self.context.region, fold)

    # plumbing

    def _entity(self, entity: str) -> _Entity:
        try:
            return self._entities[entity]
        except KeyError:
            valid = ", ".join(sorted(self._entities))
            raise SourceError(self.name, f"does not serve {entity} (valid: {valid})") from None

    def _records(self, entity: str, rows: list[Any], mapped: bool = False) -> list[Record]:
        """Records of rows (SQLAlchemy's), or of mappings of column → value when `mapped`."""
        mapper = self.mappers[entity]
        out: dict[str, Record] = {}
        for row in rows:
            values = row if mapped else row._mapping
            record = mapper.to_record(values.__getitem__)
            if record.errors:
                record = _with_table(record, mapper)
            out.setdefault(record.local_id, record)
        return list(out.values())

    async def _kinds_for(self, conn: AsyncConnection, entity: str, spec: _Entity) -> Mapping[str, query.Kind]:
        if entity not in self._kinds:
            dialect = conn.dialect.name
            if dialect == "sqlite":
                self._kinds[entity] = {}
            else:
                result = await conn.execute(spec.source.probe())
                self._kinds[entity] = query.kinds_of(dialect, result.cursor.description)
                result.close()
        return self._kinds[entity]

    async def _facts_for(self, conn: AsyncConnection, entity: str) -> Mapping[str, ColumnFacts]:
        """The catalogue's word on the mapped table, read once; none (expressions everywhere) for
        a custom select or when the catalogue refuses."""
        if entity not in self._facts:
            mapping = self.mappers[entity].mapping
            assert isinstance(mapping, SqlEntityMap)
            facts: Mapping[str, ColumnFacts] = {}
            if mapping.table is not None:
                try:
                    facts = await read_facts(conn, mapping.table)
                except sa.exc.DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise
                    log.warning("%s: cannot read the column types of %s (%s); lookups compare expressions",
                                self.name, mapping.table, type(exc.orig).__name__)
            self._facts[entity] = facts
        return self._facts[entity]

    async def _fold_for(self, conn: AsyncConnection) -> query.TextFold:
        """Accent-insensitive where the database can be (SQLite function, installed unaccent)."""
        if self._fold is None:
            fold = query.LOWER
            if conn.dialect.name == "sqlite":
                fold = query.folded(sa.func.onepane_fold)
            elif conn.dialect.name == "postgresql" and self.options.text_pushdown == "casefold":
                schema = (await conn.execute(sa.text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                    " WHERE e.extname = 'unaccent'"))).scalar()
                if schema is not None:
                    unaccent = getattr(sa.func, str(schema)).unaccent
                    fold = query.folded(lambda expr: sa.func.lower(unaccent(expr)))
            self._fold = fold
        return self._fold

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> AsyncEngine:
        url = resolve_url(self.options.url, self.context.base_dir)
        # Every statement is a read: AUTOCOMMIT spares the BEGIN and ROLLBACK round trips a pooled
        # connection otherwise costs per lookup (nothing to reset on return), and no ping on
        # checkout: a connection the server dropped fails as a disconnect, SQLAlchemy discards the
        # pool's stale connections, and the guard's retry runs on a fresh one.
        kwargs: dict[str, Any] = {"hide_parameters": True, "isolation_level": "AUTOCOMMIT",
                                  "pool_reset_on_return": None}
        if not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")):
            # SQLAlchemy closes an overflow connection as soon as it is returned, so under load
            # every burst past pool_size opened (and the database forked) connections that lived
            # for one statement, each preparing its statements anew. The same most connections
            # (pool_size plus SQLAlchemy's default overflow of 10), but each kept once opened.
            kwargs["pool_size"], kwargs["max_overflow"] = self.options.pool_size + _BURST, 0
        watched: Path | None = None
        if url.get_backend_name() == "sqlite":
            self._sqlite_calls = self._sqlite_calls or SqliteCalls()
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            if not (url.database or "").startswith("file:"):
                watched = Path(url.database or "").resolve()
            url, kwargs["connect_args"] = _sqlite_read_only(url), {"timeout": self.options.statement_timeout}
        try:
            engine = create_async_engine(url, **kwargs)
        except ImportError as exc:
            raise missing_driver(self.name, exc) from exc
        except sa.exc.ArgumentError as exc:
            raise SourceError(self.name, f"cannot use the database URL ({type(exc).__name__})") from None
        event.listen(engine.sync_engine, "connect", self._on_connect)
        self._direct = DirectPostgres(engine, self.options.pool_size) if DirectPostgres.serves(engine) else None
        if watched is not None:
            follow_path(engine, watched)  # a file moved away or replaced is not read through old connections
        return engine

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        """Every new connection: read-only and a server-side statement timeout where supported."""
        dialect = self._engine.dialect.name if self._engine else ""
        seconds = self.options.statement_timeout
        cursor = dbapi_connection.cursor()
        try:
            if dialect == "sqlite":
                dbapi_connection.create_function("onepane_fold", 1, query.sql_fold, deterministic=True)
                cursor.execute("PRAGMA query_only = ON")
                return
            if dialect == "postgresql":
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
            elif dialect in ("mysql", "mariadb"):
                cursor.execute("SELECT VERSION()")
                mariadb = "mariadb" in str(cursor.fetchone()[0]).lower()
                cursor.execute(f"SET SESSION max_statement_time = {seconds:.3f}" if mariadb
                               else f"SET SESSION max_execution_time = {int(seconds * 1000)}")
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
            dbapi_connection.commit()
        finally:
            cursor.close()

    async def _run_direct(self, work: Callable[[Fetch], Awaitable[T]]) -> T:
        """`_run` for statements sent straight to the driver (direct.py): same timeout, same errors."""
        assert self._direct is not None
        connecting = True
        try:
            async with asyncio.timeout(self.options.statement_timeout):
                connection = await self._direct.checkout()
                connecting = False
                return await self._direct.run(connection, work)
        except SourceError:
            raise
        except Exception as exc:
            error = translate(self.name, exc, connecting=connecting, timeout=self.options.statement_timeout)
            log.warning("%s", error)
            raise error from exc

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `work` on a pooled connection within the statement timeout; errors → our tree."""
        engine = self._require_engine()
        limit = timeout or self.options.statement_timeout
        call = Call()
        try:
            if self._sqlite_calls is not None:  # never cancelled inside aiosqlite's thread: sqlite_calls.py
                return await self._sqlite_calls.run(engine, work, limit, call)
            async with asyncio.timeout(limit):
                async with engine.connect() as conn:
                    call.conn = conn
                    return await work(conn)
        except SourceError:
            raise
        except Exception as exc:
            error = translate(self.name, exc, connecting=call.conn is None, timeout=self.options.statement_timeout)
            log.warning("%s", error)
            raise error from exc


def _sqlite_read_only(url: sa.URL) -> sa.URL:
    """Open a SQLite file read-only, by URI (`file:///…?mode=ro`), never creating it.

    sqlite3 otherwise creates an empty database where the file is missing: a file moved away
    under load became an empty database that answered "no such table" until restart. Read-only,
    a missing file is "unable to open" (SOURCE_UNAVAILABLE), and the next connection after the
    file is back simply works. A `file:` URI the config already wrote is kept as written.
    """
    database = url.database or ""
    if database.startswith("file:"):
        return url
    return url.set(database=Path(database).resolve().as_uri(), query={**url.query, "mode": "ro", "uri": "true"})


def _with_table(record: Record, mapper: RecordMapper) -> Record:
    """Field errors that also name the table (or custom select) the column was read from."""
    mapping = mapper.mapping
    assert isinstance(mapping, SqlEntityMap)
    where = f"table {mapping.table}" if mapping.table is not None else "custom select"
    errors = {}
    for name, message in record.errors.items():
        spec = mapping.fields.get(name)
        origin = f" (from {', '.join(spec.origin)})" if spec is not None and spec.origin else ""
        head = f"{record.entity} {record.source}:{record.local_id} field {name}{origin}: "
        if spec is not None and spec.origin and message.startswith(head):
            columns = ", ".join(spec.origin)
            message = (f"{record.entity} {record.source}:{record.local_id} field {name} "
                       f"(from {where}, column {columns}): {message[len(head):]}")
        else:
            message = f"{message} [{where}]"
        errors[name] = message
    return dataclasses.replace(record, errors=errors)


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _normal_form(normalizer: str, value: str, region: str) -> bool:
    normal = normalize(normalizer, value, region)
    return normal is not None and normalize_text(normal) == normalize_text(value)


_TIDY_SAMPLE = 300  # values `check` reads of an email or code key column (KeyMap.tidy)


def _tidy(style: str, normalizer: str, value: Any) -> bool:
    """Whether a stored value is its key's normal form apart from case and spaces at either end
    (a value that is no key at all, an email without @, never matches a lookup either way)."""
    text = value if isinstance(value, str) else str(value)
    normal = normalize(normalizer, text, "")
    if normal is None:
        return True
    bare = text.strip(" ")
    return bare.isascii() and bare.isprintable() and normal == (bare.upper() if style == "code" else bare.lower())


def _found(record: Record, by: str, wanted: set[str]) -> bool:
    if by == "id":
        return record.local_id in wanted
    kind, _, name = by.partition(":")
    if kind == "key":  # `key:phone@fax`, one column of a key read from several, is key `phone`
        return bool(wanted.intersection(record.keys.get(name.partition("@")[0], ())))
    return record.refs.get(name) in wanted
