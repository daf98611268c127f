"""`federation import sql URL`: reflect the tables, sample a few hundred rows each, draft a mapping.

Reads through the connector's own engine setup: one read-only connection, a statement timeout,
errors translated with the URL's password masked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.sdk.drafting import ColumnProfile, TableProfile, draft_entities, render_source, url_variable
from connectors.sdk.drafting.profile import Kind
from connectors.sdk.drafting.render import source_name
from connectors.sql.config import SqlOptions
from federation.contract import ConnectorContext
from federation.drafts import DraftError, DraftRequest
from federation.errors import SourceError

__all__ = ["Reader", "draft_sql", "masked"]

T = TypeVar("T")


class Reader(Protocol):
    """What drafting needs of the SQL connector, which passes its own class in (so this module,
    loaded by the connector only for `federation import`, never imports it back)."""

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]], timeout: float | None = None) -> T: ...

    async def close(self) -> None: ...


def masked(raw: str) -> str:
    """The URL as it may be shown: its password replaced by ***."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


async def draft_sql(request: DraftRequest, connect: Callable[[str, SqlOptions, ConnectorContext], Reader]) -> str:
    shown = masked(request.target)
    try:
        url = make_url(request.target)
        options = SqlOptions(url=request.target, statement_timeout=request.timeout, pool_size=1)
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise DraftError(f"cannot use {shown}: {reason}") from None
    except (ArgumentError, ValueError):
        raise DraftError(f"cannot use {shown}: not a database URL") from None
    name = request.name or source_name(Path(url.database or "source").stem)
    connector = connect(name, options, ConnectorContext(request.model, request.base_dir, request.region or "GB"))
    try:
        tables = await _read(connector, request)
    except _Unreadable as exc:
        raise DraftError(f"cannot read {shown}: {exc.detail}") from None
    except SourceError as exc:
        raise DraftError(f"cannot read {shown}: {str(exc).split(': ', 1)[-1]}") from None
    finally:
        await connector.close()
    drafts, skipped = draft_entities(tables, request.model, request.region, request.currency)
    header = [f"Drafted by `federation import sql {shown}` from {len(tables)} table(s), at most "
              f"{request.sample_rows} rows read from each.",
              "Each guess says why and how sure; answer every `# TODO` and run `federation check`."]
    options_out = [("url", url_variable(name), f"set it to the database URL ({shown})")]
    return render_source(name, "sql", header, options_out, drafts, skipped)


class _Unreadable(SourceError):
    """A table the user may not read (permission denied): named in the message."""

    def __init__(self, detail: str) -> None:
        super().__init__("draft", detail)
        self.detail = detail


async def _read(connector: Reader, request: DraftRequest) -> list[TableProfile]:
    """The tables' names, then each table on its own within the timeout (reflection and sample)."""
    names = await connector._run(lambda conn: conn.run_sync(_names, request), request.timeout)
    tables = []
    for name in names:
        try:
            tables.append(await connector._run(lambda conn, n=name: conn.run_sync(_profile, n, request),  # type: ignore[misc]
                                               request.timeout * 2))
        except _Unreadable:
            raise
        except SourceError as exc:  # a timeout or a failed statement: say which table
            raise _Unreadable(f"table {name}: {str(exc).split(': ', 1)[-1]}") from None
    return tables


def _names(conn: Connection, request: DraftRequest) -> list[str]:
    inspector = sa.inspect(conn)
    try:  # views too: many legacy systems expose their data to integrations through views
        names = inspector.get_table_names(schema=request.schema) + inspector.get_view_names(schema=request.schema)
    except sa.exc.DBAPIError as exc:
        raise _Unreadable(f"cannot list the tables of schema {request.schema or '(default)'} "
                          f"({_reason(exc, request.timeout)})") from None
    if request.tables:
        unknown = [t for t in request.tables if t not in names]
        if unknown:
            raise _Unreadable(f"no table {', '.join(unknown)} (tables: {', '.join(sorted(names)) or 'none'})")
        names = list(request.tables)
    return sorted(names)


def _profile(conn: Connection, name: str, request: DraftRequest) -> TableProfile:
    schema = request.schema
    inspector = sa.inspect(conn)
    reflected = inspector.get_columns(name, schema=schema)
    primary = tuple(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or ())
    refers: dict[str, tuple[str, str]] = {}
    for fk in inspector.get_foreign_keys(name, schema=schema):
        if len(fk["constrained_columns"]) == 1:
            refers[fk["constrained_columns"][0]] = (fk["referred_table"], fk["referred_columns"][0])
    columns = tuple(ColumnProfile(str(c["name"]), _kind(c["type"]), str(c["name"]) in primary,
                                  refers.get(str(c["name"])), _enum_values(c["type"])) for c in reflected)
    readable = [c.name for c in columns if c.kind != "other" or not _binary(reflected, c.name)]
    statement = sa.select(*(sa.column(c) for c in readable)).select_from(sa.table(name, schema=schema))  # type: ignore[var-annotated]
    try:
        rows = conn.execute(statement.limit(request.sample_rows)).mappings().all()
    except sa.exc.DBAPIError as exc:
        reason = _reason(exc, request.timeout)
        raise _Unreadable(f"cannot read table {name} ({reason}); leave it out with --tables") from None
    conn.rollback()
    where = f"{schema}.{name}" if schema else name
    notes = () if rows else ("the table has no rows: drafted from its schema alone, no value checked",)
    return TableProfile(name, columns, {"table": where}, primary, tuple(dict(r) for r in rows), notes=notes,
                        unique=_unique_columns(inspector, name, schema, primary))


def _unique_columns(inspector: Any, name: str, schema: str | None, primary: tuple[str, ...]) -> frozenset[str]:
    """Columns a one-column primary key, UNIQUE constraint or unique index covers (a view has none)."""
    found = set(primary) if len(primary) == 1 else set()
    try:
        found |= {str(c["column_names"][0]) for c in inspector.get_unique_constraints(name, schema=schema)
                  if len(c["column_names"]) == 1}
        found |= {str(i["column_names"][0]) for i in inspector.get_indexes(name, schema=schema)
                  if i.get("unique") and len(i["column_names"]) == 1 and i["column_names"][0] is not None}
    except (NotImplementedError, sa.exc.DBAPIError):  # a view, or a dialect that cannot say: nothing drafted
        pass
    return frozenset(found)


# PostgreSQL's SQLSTATE and MariaDB's error numbers for "you may not read this".
_DENIED = {"42501", 1142, 1143, 1044}
_TIMEOUTS = {"57014", 1969, 3024}  # statement_timeout; MariaDB max_statement_time; MySQL max_execution_time


def _reason(exc: sa.exc.DBAPIError, timeout: float) -> str:
    """Why a read failed, never the statement or values: permission denied, a timeout, or the class."""
    orig = exc.orig
    cause = getattr(orig, "__cause__", None) or orig
    code = getattr(cause, "sqlstate", None) or (orig.args[0] if orig is not None and orig.args else None)
    if code in _TIMEOUTS:
        return f"no answer within {timeout:g}s"
    return "permission denied" if code in _DENIED else type(cause).__name__


def _kind(kind: Any) -> Kind:
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Float):
        return "float"
    if isinstance(kind, sa.Numeric):
        return "decimal"
    if isinstance(kind, sa.DateTime):
        return "datetime"
    if isinstance(kind, sa.Date):
        return "date"
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.String | sa.Enum):
        return "text"
    return "other"


def _enum_values(kind: Any) -> tuple[str, ...]:
    return tuple(kind.enums) if isinstance(kind, sa.Enum) else ()


def _binary(reflected: list[Any], name: str) -> bool:
    kind = next(c["type"] for c in reflected if c["name"] == name)
    return isinstance(kind, sa.LargeBinary | sa.types._Binary)
