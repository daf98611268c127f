"""`federation sql`: the unified model as SQL tables, answered by an embedded DuckDB.

Why DuckDB: analysts' questions are scans, GROUP BYs over several columns, date buckets, joins
and window functions over at most millions of rows; DuckDB runs all of standard SQL in-process
on columnar data (Arrow, zero-copy), with no server to run and no data written anywhere.

One statement goes through four steps:
1. **Checked**: exactly one SELECT (a statement that writes, COPYs, ATTACHes or INSTALLs is
   refused before anything runs); the tables it names are looked up in the role's table plan.
2. **Fed**: only the tables it reads are fetched, page by page, through the gateway's GraphQL
   schema under the caller's principal, so identity resolution, masks, denials, limits and the
   audit apply exactly as for any query (a masked column reads masked; a denied one does not exist).
3. **Run**: on a fresh in-memory database locked down before the caller's SQL runs (no file or
   network access, no Python variables, settings frozen), bounded by a row limit and a timeout.
4. **Reported**: values a source could not read and sources that did not answer are counted and
   returned with the rows (the export is partial, never aborted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from federation.analyst.errors import SqlProblem
from federation.analyst.pushdown import purchase_filter
from federation.analyst.tables import Column, Table, TablePlan
from federation.errors import SOURCE_DATA_ERROR, SOURCE_ERROR, SQL_REFUSED, SQL_TIMEOUT
from federation.messages import cut

__all__ = ["Fetcher", "SqlAnswer", "SqlProblem", "run_sql", "table_listing"]

PAGE = 100  # the API's largest page (federation/api/roots.py MAX_PAGE)
Progress = Callable[[str], None]


class Fetcher(Protocol):
    """Runs one GraphQL document for the caller (in-process or over HTTP) and returns the JSON body."""

    def run(self, document: str, variables: dict[str, Any]) -> Awaitable[dict[str, Any]]: ...


@dataclass
class SqlAnswer:
    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]
    truncated: bool
    fetched: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    pushed: dict[str, dict[str, Any]] = field(default_factory=dict)  # table -> the filter its sources got

    @property
    def partial(self) -> bool:
        return bool(self.unreadable or self.errors)


def table_listing(plan: TablePlan) -> str:
    """Every table this role has with its columns, for error messages and `--tables`."""
    return "\n".join(f"  {t.name}({', '.join(f'{c.name} {c.sql_type}' for c in t.columns)})"
                     for t in plan.tables.values())


def _check(sql: str, plan: TablePlan) -> set[str]:
    """The plan's tables the one SELECT in `sql` reads; SqlProblem for anything else."""
    try:
        statements = duckdb.connect(":memory:").extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlProblem(f"the SQL does not parse: {cut(str(exc), 300)}\ntables:\n{table_listing(plan)}") from None
    if len(statements) != 1:
        raise SqlProblem(f"send exactly one statement, not {len(statements)}", SQL_REFUSED)
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise SqlProblem(f"only SELECT runs here; this is {kind.name}: nothing was executed", SQL_REFUSED)
    named = {n.lower() for n in duckdb.get_table_names(sql)}
    return named & set(plan.tables)


async def run_sql(sql: str, plan: TablePlan, fetcher: Fetcher, max_rows: int, timeout: float,
                  memory_limit: str = "1GB", progress: Progress | None = None, push: bool = True) -> SqlAnswer:
    """Check, feed, run and report one statement (see the module docstring)."""
    started = time.monotonic()
    wanted = _check(sql, plan)
    feed = Feed(plan, plan.needed(wanted))
    deadline = started + timeout
    for root, top in plan.roots.items():
        if top.name in feed.wanted:
            pushed = _pushed(sql, plan, root) if push else {}
            feed.pushed[top.name] = pushed
            await feed.fetch(root, top, fetcher, deadline, progress, pushed)
    connection = _locked_database(feed, memory_limit)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SqlProblem(f"over the {timeout:g} s limit while fetching rows; raise the timeout or filter more",
                         SQL_TIMEOUT)
    columns, rows, truncated = await _execute(connection, sql, max_rows, remaining, plan)
    return SqlAnswer(columns, rows, truncated, dict(feed.counts), feed.unreadable, feed.errors,
                     time.monotonic() - started, feed.notes, {t: f for t, f in feed.pushed.items() if f})


def _pushed(sql: str, plan: TablePlan, root: str) -> dict[str, Any]:
    """The filter `root` is fetched with (federation/analyst/pushdown.py); only purchases take one."""
    if root != "purchases":
        return {}
    columns = {name: frozenset(c.name for c in table.columns) for name, table in plan.tables.items()}
    return purchase_filter(sql, plan.fed_through(root), plan.channels, columns)


class Feed:
    """Rows of the wanted tables, gathered from paged GraphQL answers."""

    def __init__(self, plan: TablePlan, wanted: frozenset[str]) -> None:
        self.plan, self.wanted = plan, wanted
        self.rows: dict[str, dict[str, list[Any]]] = {n: {c.name: [] for c in plan.tables[n].columns} for n in wanted}
        self.seen: dict[str, set[str]] = {n: set() for n in wanted}
        self.counts: dict[str, int] = dict.fromkeys(wanted, 0)
        self.unreadable = 0
        self.notes: list[str] = []  # the first few unreadable values, as the sources' errors say
        self.pushed: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []

    async def fetch(self, root: str, top: Table, fetcher: Fetcher, deadline: float, progress: Progress | None,
                    pushed: dict[str, Any]) -> None:
        declared, argument, variables = "", "", {}
        if pushed:
            declared, argument, variables = ", $filter: PurchaseFilter", ", filter: $filter", {"filter": pushed}
        document = (f"query OnepaneSql($first: Int!, $after: String{declared}) {{ {root}(first: $first, "
                    f"after: $after{argument}) {{ nodes {{ {top.selection(self.wanted)} }} "
                    f"pageInfo {{ hasNextPage endCursor }} }} }}")
        after: str | None = None
        while True:
            if time.monotonic() > deadline:
                raise SqlProblem("over the time limit while fetching rows; raise the timeout or filter more",
                                 SQL_TIMEOUT)
            body = await fetcher.run(document, {"first": PAGE, "after": after, **variables})
            self._errors(body.get("errors") or [])
            page = (body.get("data") or {}).get(root)
            if not isinstance(page, Mapping):
                if not body.get("errors"):
                    raise SqlProblem(f"{root} answered nothing", SOURCE_ERROR)
                return
            for node in page.get("nodes") or ():
                if isinstance(node, Mapping):
                    self._add(top, node, None)
            if progress is not None:
                progress(", ".join(f"{n} {c:,}" for n, c in self.counts.items()))
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

    def _errors(self, errors: list[dict[str, Any]]) -> None:
        for error in errors:
            code = (error.get("extensions") or {}).get("code")
            if code == SOURCE_DATA_ERROR:
                self.unreadable += 1
                if len(self.notes) < 5:
                    self.notes.append(cut(str(error.get("message")), 200))
            elif len(self.errors) < 20:
                self.errors.append({"message": error.get("message"), "code": code,
                                    "source": (error.get("extensions") or {}).get("source")})

    def _add(self, table: Table, node: Mapping[str, Any], parent: str | None) -> None:
        ident = node.get("id")
        # A record reached twice (a store of many purchases) is one row; without a readable id,
        # every row under its parent is its own.
        if ident is None or ident not in self.seen[table.name]:
            if ident is not None:
                self.seen[table.name].add(ident)
            self.counts[table.name] += 1
            columns = self.rows[table.name]
            for column in table.columns:
                columns[column.name].append(parent if column.path == ("__parent__",) else _at(node, column.path))
        for child in table.children:
            if child.name not in self.wanted:
                continue
            held = node.get(child.via)
            for item in (held if isinstance(held, list) else [held]):
                if isinstance(item, Mapping):
                    self._add(child, item, None if ident is None else str(ident))

    def arrow(self, name: str) -> pa.Table:
        table = self.plan.tables[name]
        arrays, fields = [], []
        for column in table.columns:
            kind = _arrow_type(column.sql_type)
            values = [self._value(column, v, table.name) for v in self.rows[name][column.name]]
            arrays.append(pa.array(values, type=kind))
            fields.append(pa.field(column.name, kind))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def _value(self, column: Column, value: Any, table: str) -> Any:
        if value is None:
            return None
        if column.is_list:
            items = value if isinstance(value, list) else [value]
            inner = Column(column.name, column.sql_type[:-2], column.path, column.graphql_type)
            return [self._value(inner, v, table) for v in items]
        try:
            return _typed(column.sql_type, value)
        except (ValueError, TypeError, InvalidOperation):
            # Reported, never passed off as a different value.
            self.unreadable += 1
            if len(self.notes) < 5:
                self.notes.append(f"{table}.{column.name}: {cut(repr(value), 60)} is not {column.sql_type}")
            return None


def _at(node: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = node
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _arrow_type(sql_type: str) -> pa.DataType:
    if sql_type.endswith("[]"):
        return pa.list_(_arrow_type(sql_type[:-2]))
    return {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
            "DECIMAL(38,6)": pa.decimal128(38, 6), "DATE": pa.date32(),
            "TIMESTAMPTZ": pa.timestamp("us", tz="UTC")}[sql_type]


_SIX = Decimal("0.000001")


def _typed(sql_type: str, value: Any) -> Any:
    if sql_type == "VARCHAR":
        return str(value)
    if sql_type == "BIGINT":
        return int(value)
    if sql_type == "DOUBLE":
        return float(value)
    if sql_type == "BOOLEAN":
        return bool(value)
    if sql_type.startswith("DECIMAL"):
        number = Decimal(str(value))
        if number != number.quantize(_SIX):
            raise ValueError("more than six decimals")  # would be rounded: reported instead
        return number.quantize(_SIX)
    if sql_type == "DATE":
        return date.fromisoformat(str(value))
    if sql_type == "TIMESTAMPTZ":
        return datetime.fromisoformat(str(value))
    raise TypeError(sql_type)


def _locked_database(feed: Feed, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the fed tables, then locked before the caller's SQL runs."""
    connection = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": memory_limit,
                                                    "python_enable_replacements": False,
                                                    "autoinstall_known_extensions": False,
                                                    "autoload_known_extensions": False})
    connection.execute("SET TimeZone = 'UTC'")
    for name in feed.wanted:
        connection.register(f"_feed_{name}", feed.arrow(name))
        connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "_feed_{name}"')  # names from the plan
        connection.unregister(f"_feed_{name}")
    for name, table in feed.plan.tables.items():
        if name not in feed.wanted:  # named only in a way the parser could not see: present, empty
            columns = ", ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
            connection.execute(f'CREATE TABLE "{name}" ({columns})')
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    return connection


async def _execute(connection: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout: float,
                   plan: TablePlan) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]], bool]:
    def work() -> tuple[list[tuple[str, str]], list[tuple[Any, ...]], bool]:
        cursor = connection.execute(sql)
        columns = [(str(d[0]), str(d[1])) for d in cursor.description or ()]
        rows = cursor.fetchmany(max_rows + 1)
        return columns, rows[:max_rows], len(rows) > max_rows

    task = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except TimeoutError:
        connection.interrupt()
        await asyncio.gather(task, return_exceptions=True)
        raise SqlProblem(f"the query ran past its {timeout:.0f} s limit and was stopped; raise the timeout "
                         "(within the configured maximum) or narrow it", SQL_TIMEOUT) from None
    except duckdb.Error as exc:
        raise SqlProblem(f"{cut(str(exc), 300)}\ntables:\n{table_listing(plan)}") from None
    finally:
        if task.done():  # an interrupted statement's thread has let go of the connection
            connection.close()


def rows_as_dicts(answer: SqlAnswer) -> Iterator[dict[str, Any]]:
    names = [name for name, _ in answer.columns]
    for row in answer.rows:
        yield dict(zip(names, row, strict=True))
