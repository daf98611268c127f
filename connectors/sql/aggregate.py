"""`aggregate` in SQL: one GROUP BY statement whose rows equal grouping the records `search` reads.

Exactness, not speed, decides every choice here; anything this module cannot prove answers None
(the engine then searches the source as before):
- **One record per local id.** The connector keeps one record per local id, so the statement
  counts rows per id with a window (`COUNT(*) OVER (PARTITION BY k)`) over a key `k` no finer
  than the local id (the id's text with every whitespace and separator character removed); any
  id held by two rows → None.
- **Groups are raw values, read through the mapping.** Rows are grouped by the raw columns the
  group (and every condition SQL cannot decide exactly) is read from, compared byte for byte
  (no case- or accent-folding collation), and each group's representative row is turned into a
  record by the entity's own `RecordMapper`: its group value and its conditions are exactly what
  its records would carry. Only the date of a naive native timestamp is grouped in SQL
  (`CAST(col AS DATE)`, the date the engine takes), and a timestamp with time zone falls back.
- **Conditions in SQL only where exact**: numbers on integer or decimal columns and dates on
  native date/timestamp columns (UTC for naive ones); SQLite values are checked per row with
  `typeof` (a text or real value in an amount column → None). The rest are decided per group.
- **Totals** only from one amount column (`money`/`money_minor`, with a constant currency or a
  currency column grouped like the rest), summed exactly (integers or decimals) and then read
  through the same transform, which is linear in the amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from connectors.sdk import matches
from connectors.sdk.mapping import FieldMap, RecordMapper, coerce
from connectors.sql import query
from connectors.sql.plans import Plan
from federation.contract import AggregateRequest, AggregateRow, Condition

__all__ = ["Aggregate", "build", "groups_served", "sums_served"]

_ID_STEPS = frozenset({"strip", "text", "join"})
_WHITESPACE = tuple(c for c in map(chr, range(0x3001)) if c.isspace())  # what str.strip() removes
_SPACES = "".join(_WHITESPACE)
_RAW_KINDS = frozenset({"int", "date", "datetime", "datetimetz"})  # driver values equal iff SQL-equal


def _step(step: Any) -> str:
    return step if isinstance(step, str) else next(iter(step))


def _arg(step: Any) -> Any:
    return None if isinstance(step, str) else next(iter(step.values()))


def groups_served(mapper: RecordMapper) -> frozenset[str]:
    """Every group `aggregate` can answer for this mapping (none when its id can't be checked)."""
    mapping = mapper.mapping
    steps = [_step(s) for s in mapping.id.transform]
    if not mapping.id.origin or any(s not in _ID_STEPS for s in steps) or (
            len(mapping.id.origin) > 1 and "join" not in steps):
        return frozenset()
    days = {f"day:{f}" for f in mapping.fields if mapper.decl.fields[f].type == "DateTime"} \
        if not mapper.problems else set()
    return frozenset({"", *mapping.fields, *days, *(f"ref:{r}" for r in mapping.refs)})


def sums_served(mapper: RecordMapper) -> frozenset[str]:
    """Money fields read from one amount column (and maybe one currency column)."""
    return frozenset(f for f, spec in mapper.mapping.fields.items()
                     if f in mapper.decl.fields and mapper.decl.fields[f].type == "Money" and _money(spec))


def _money(spec: FieldMap) -> bool:
    if len(spec.transform) != 1:
        return False
    name = _step(spec.transform[0])
    return (len(spec.origin) == 1 and name in ("money", "money_minor")) or (len(spec.origin) == 2 and name == "money")


@dataclass
class Aggregate:
    """One aggregate statement and how to read its rows back."""

    statement: sa.Select[Any]
    mapper: RecordMapper
    request: AggregateRequest
    columns: list[str]
    residual: list[Condition]
    day_in_sql: bool
    suspects: bool
    limit: int
    labels: dict[str, str] = field(default_factory=dict)

    def rows(self, rows: Sequence[Row[Any]]) -> list[AggregateRow] | None:
        """Rows per group value; None when an id repeats, a value was suspect or too many groups."""
        if len(rows) > self.limit:
            return None
        out: list[AggregateRow] = []
        spec = self.mapper.mapping.fields[self.request.total]
        for row in rows:
            values = row._mapping
            if values["onepane_n"] > 1 or (self.suspects and values["onepane_s"]):
                return None
            raw = {c: values[self.labels[c]] for c in self.columns}
            try:
                record = self.mapper.to_record(raw.get)
            except (ValueError, TypeError, ArithmeticError):
                return None
            if self.residual and not matches(record, self.residual):
                continue
            group = self._group(record, values.get("onepane_day"))
            total = self._total(spec, values["onepane_sum"], raw)
            out.append(AggregateRow(group, int(values["onepane_count"]), total))
        return out

    def _group(self, record: Any, day: Any) -> Any:
        kind, _, name = self.request.group.partition(":")
        if not self.request.group:
            return None
        if kind == "day" and name:
            if self.day_in_sql:
                return day if isinstance(day, date) and not isinstance(day, datetime) else None
            value = record.fields.get(name)
            return value.date() if isinstance(value, datetime) else None
        if kind == "ref" and name:
            return record.refs.get(name)
        return record.fields.get(self.request.group)

    def _total(self, spec: FieldMap, amount: Any, raw: Mapping[str, Any]) -> Any:
        got = {**raw, spec.origin[0]: amount}
        try:
            return coerce(self.mapper.model, "Money", False, spec.read(got.get))
        except (ValueError, TypeError, ArithmeticError):
            return None


def build(mapper: RecordMapper, source: query.Source, filters: Mapping[str, Any], request: AggregateRequest,
          kinds: Mapping[str, query.Kind], dialect: str, fold: query.TextFold, limit: int) -> Aggregate | None:
    """The statement for `request`, or None when this source cannot answer it exactly."""
    mapping = mapper.mapping
    total = mapping.fields.get(request.total)
    if total is None or not _money(total):
        return None
    key = _id_key(mapping.id, source, kinds, dialect)
    if key is None:
        return None
    where: list[query.Clause] = []
    suspects: list[query.Clause] = []
    residual: list[Condition] = []
    columns: list[str] = []
    for condition in request.conditions:
        pushed = _exact(condition, filters, source, kinds, dialect, fold)
        if pushed is None:
            spec = mapping.fields.get(condition.field) or mapping.keys.get(condition.field)
            columns += spec.origin if spec is not None else ()
            residual.append(condition)
        else:
            where.append(pushed[0])
            suspects += pushed[1]
    served, day = _group_columns(mapper, source, request.group, kinds, dialect, columns)
    if not served:
        return None
    amount = source.col(total.origin[0])
    amount_kind = kinds.get(total.origin[0])
    if dialect == "sqlite":
        suspects.append(sa.func.typeof(amount).not_in(["integer", "null"]))
    elif amount_kind not in ("int", "decimal"):
        return None
    columns += total.origin[1:]
    columns = list(dict.fromkeys(columns))
    inner_cols: list[Any] = [amount.label("onepane_a"), sa.func.count().over(partition_by=key).label("onepane_n")]
    group_labels: list[str] = []
    labels: dict[str, str] = {}
    for i, name in enumerate(columns):
        exprs = _exact_group(source.col(name), kinds.get(name), dialect)
        if exprs is None:
            return None
        labels[name] = f"onepane_r{i}"
        inner_cols.append(source.col(name).label(labels[name]))
        for j, expr in enumerate(exprs):
            group_labels.append(f"onepane_g{i}_{j}")
            inner_cols.append(expr.label(group_labels[-1]))
    if day is not None:
        inner_cols.append(day.label("onepane_day"))
        group_labels.append("onepane_day")
    if suspects:
        inner_cols.append(sa.case((sa.or_(*suspects), 1), else_=0).label("onepane_s"))
    inner = sa.select(*inner_cols).select_from(source.from_).where(*where).subquery("onepane_rows")
    outer_cols: list[Any] = [sa.func.min(inner.c[labels[n]]).label(labels[n]) for n in columns]
    outer_cols += [sa.func.count().label("onepane_count"), sa.func.sum(inner.c.onepane_a).label("onepane_sum"),
                   sa.func.max(inner.c.onepane_n).label("onepane_n")]
    if day is not None:
        outer_cols.append(inner.c.onepane_day)
    if suspects:
        outer_cols.append(sa.func.max(inner.c.onepane_s).label("onepane_s"))
    statement = sa.select(*outer_cols).group_by(*(inner.c[g] for g in group_labels)).limit(limit + 1)
    return Aggregate(statement, mapper, request, columns, residual, day is not None, bool(suspects), limit, labels)


def _group_columns(mapper: RecordMapper, source: query.Source, group: str, kinds: Mapping[str, query.Kind],
                   dialect: str, columns: list[str]) -> tuple[bool, query.Clause | None]:
    """Add the raw columns `group` is read from; (served?, the day computed in SQL)."""
    mapping = mapper.mapping
    kind, _, name = group.partition(":")
    if not group:
        return True, None
    if kind == "ref" and name:
        spec = mapping.refs.get(name)
    elif kind == "day" and name:
        spec = mapping.fields.get(name)
        if spec is not None and len(spec.origin) == 1:
            column_kind = kinds.get(spec.origin[0])
            if column_kind == "datetimetz":
                return False, None  # the engine's date is in the value's zone; leave zones to it
            steps = [_step(s) for s in spec.transform]
            if dialect != "sqlite" and column_kind == "datetime" and steps in ([], ["datetime"]):
                return True, sa.cast(source.col(spec.origin[0]), sa.Date)
    else:
        spec = mapping.fields.get(group)
    columns += spec.origin if spec is not None else ()
    return True, None


def _id_key(spec: FieldMap, source: query.Source, kinds: Mapping[str, query.Kind],
            dialect: str) -> query.Clause | None:
    """A key no finer than the local id: equal local ids always have equal keys.

    The local id is each part's text, stripped, the non-empty ones joined by `sep`, stripped again;
    so the parts' texts stripped (or with every whitespace removed, where SQL has no set trim),
    concatenated, with the separator's characters removed, are equal whenever the ids are.
    """
    steps = [_step(s) for s in spec.transform]
    if not spec.origin or any(s not in _ID_STEPS for s in steps) or (len(spec.origin) > 1 and "join" not in steps):
        return None
    if len(spec.origin) == 1 and kinds.get(spec.origin[0]) == "int":
        return source.col(spec.origin[0])  # str(int) is one-to-one
    if dialect != "sqlite" and any(kinds.get(c) not in ("str", "int") for c in spec.origin):
        return None
    joins = [_arg(s) for s in spec.transform if _step(s) == "join"]
    sep = (joins[0] if joins and isinstance(joins[0], str) else " ") if len(spec.origin) > 1 else ""
    expr: query.Clause | None = None
    for column in spec.origin:
        part = _stripped(sa.func.coalesce(sa.cast(source.col(column), sa.String), ""), dialect)
        expr = part if expr is None else expr + part
    assert expr is not None
    for char in dict.fromkeys(sep):
        expr = sa.func.replace(expr, char, "")
    return expr


def _stripped(expr: query.Clause, dialect: str) -> query.Clause:
    """`expr` without what str.strip() removes (SQLite and PostgreSQL trim a set of characters)."""
    if dialect == "sqlite":
        return sa.func.trim(expr, _SPACES)
    if dialect == "postgresql":
        return sa.func.btrim(expr, _SPACES)
    for char in _WHITESPACE:  # MariaDB trims one string, not a set: drop every whitespace (coarser)
        expr = sa.func.replace(expr, char, "")
    return expr


def _exact_group(col: query.Clause, kind: query.Kind, dialect: str) -> list[query.Clause] | None:
    """Expressions equal only for values the driver hands back equal (no collation folding)."""
    if dialect == "sqlite":
        return [col.collate("BINARY"), sa.func.typeof(col)]  # 1 and 1.0 are equal in SQLite
    if kind in _RAW_KINDS:
        return [col]
    if kind not in (None, "str", "decimal"):
        return None
    if dialect == "postgresql":
        return [sa.cast(col, sa.Text).collate("C")]
    return [sa.cast(col, sa.LargeBinary)]


def _native(plan: Plan, kind: query.Kind) -> bool:
    """Numbers on integer or decimal columns, dates on date columns, date-times on UTC timestamps."""
    if plan.style == "number":
        return kind in ("int", "decimal")
    if plan.style == "date":
        return kind == "date"
    return kind == "datetimetz" or (kind == "datetime" and plan.tz in (None, "UTC"))


def _exact(condition: Condition, filters: Mapping[str, Any], source: query.Source, kinds: Mapping[str, query.Kind],
           dialect: str, fold: query.TextFold) -> tuple[query.Clause, list[query.Clause]] | None:
    """SQL for a condition SQL decides exactly as the core does, with per-row checks; else None."""
    plan = filters.get(condition.field)
    if not isinstance(plan, Plan) or condition.op not in plan.ops or plan.style not in ("number", "date", "datetime"):
        return None
    col = source.col(plan.column)
    kind = kinds.get(plan.column)
    suspects: list[query.Clause] = []
    if dialect == "sqlite":
        if plan.style != "number":
            return None  # text dates: SQL would compare text the engine cannot parse
        suspects.append(sa.func.typeof(col).not_in(["integer", "null"]))
    elif not _native(plan, kind):
        return None
    elif plan.style != "number" and dialect in ("mysql", "mariadb"):
        suspects.append(sa.extract("year", col) == 0)  # zero dates read as text, never as dates
    clause = query.condition_clause(plan, col, kind, condition, fold)
    return None if clause is None else (clause, suspects)
