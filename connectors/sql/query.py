"""SQLAlchemy Core statements: the source selectable, lookup IN-lists and pushed-down conditions.

Every value travels as a bound parameter. Column kinds (int, str, date, …) come from the
driver's cursor description, so parameters get the type the database expects (PostgreSQL
will not compare an integer column with a text parameter).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause, Select
from sqlalchemy.sql.functions import FunctionElement

from connectors.sql.columns import ColumnFacts
from connectors.sql.config import SqlEntityMap
from connectors.sql.plans import IdPlan, Plan
from federation.contract import Condition
from federation.keys import MIN_DIGITS, digit_forms, normalize, normalize_text
from federation.records import Money

__all__ = ["LOWER", "TAIL", "UNSURE", "Kind", "Source", "TextFold", "condition_clause", "id_clause", "id_expr",
           "id_params", "id_target", "key_clause", "key_expr", "key_params", "kinds_of", "order_terms", "phone_tails",
           "plain_params", "plain_per_value", "plain_serves", "sql_fold", "text_date", "widens"]

Kind = str | None
Clause = ColumnElement[Any]

_PG = {16: "bool", 20: "int", 21: "int", 23: "int", 26: "int", 1700: "decimal", 700: "float",
       701: "float", 1082: "date", 1114: "datetime", 1184: "datetimetz"}
_MYSQL = {0: "decimal", 246: "decimal", 1: "int", 2: "int", 3: "int", 8: "int", 9: "int", 13: "int",
          4: "float", 5: "float", 10: "date", 14: "date", 7: "datetime", 12: "datetime"}
_PHONE_JUNK = (" ", "-", "(", ")", "+", ".", "/")
_CODE_JUNK = (" ", "-", "/", ".", "_", "#", ":", ",")
# Phones compare by their last digits: every spelling of one number that is digits and separators
# only ends in the same five digits (the national significant number's end: "+44 (0)20 7946 0958",
# "0044 20 7946 0958" and "020 7946 0958" all end in 60958). Five, not more: short numbers and
# national-prefix rules (a Norfolk Island "10660" is +672 3 10660) keep only that much.
TAIL = 5
# What a key expression gives a row SQL cannot judge (a phone with letters or foreign digits, an
# email or code with characters SQL folds differently from Python): every lookup asks for it too,
# so such rows always come back and the core's own normalizer decides (one answer, pushed or not).
UNSURE = "*"
_FLOOR = {"gt": "gt", "gte": "gt", "lt": "lte", "lte": "lte"}
_CANONICAL_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")


def sql_fold(value: Any) -> str | None:
    """The SQLite `onepane_fold()` function: exactly the core's text comparison form."""
    if value is None:
        return None
    return normalize_text(value if isinstance(value, str) else str(value)) or ""


@dataclass(frozen=True, slots=True)
class TextFold:
    """How a String column and a condition value are folded before they are compared."""

    sql: Callable[[Clause], Clause]
    value: Callable[[str], str]
    accents: bool  # True when accents are ignored as the core ignores them


def _lower_value(value: str) -> str:
    return " ".join(value.split()).lower()


def _folded_value(value: str) -> str:
    return normalize_text(value) or ""


LOWER = TextFold(sa.func.lower, _lower_value, False)


def folded(sql: Callable[[Clause], Clause]) -> TextFold:
    """A fold whose SQL side ignores accents (SQLite's onepane_fold, PostgreSQL's unaccent)."""
    return TextFold(sql, _folded_value, True)


def kinds_of(dialect: str, description: Sequence[Sequence[Any]] | None) -> dict[str, Kind]:
    """Column name → kind from a DBAPI cursor description; None where the driver doesn't say."""
    table = _PG if dialect == "postgresql" else _MYSQL if dialect in ("mysql", "mariadb") else None
    if table is None or not description:
        return {}
    return {str(d[0]): table.get(d[1], "str") for d in description}


class Source:
    """The FROM of one entity (a table or a custom SELECT) and the columns its mapping reads."""

    def __init__(self, mapping: SqlEntityMap, region_columns: Sequence[str] = ()) -> None:
        specs = [mapping.id, *mapping.fields.values(), *mapping.keys.values(), *mapping.refs.values()]
        if mapping.updated_at is not None:
            specs.append(mapping.updated_at)
        self.columns = tuple(dict.fromkeys([*(c for spec in specs for c in spec.origin), *region_columns]))
        # Lookup columns are compared, never read: in the FROM, not in the select list.
        named = dict.fromkeys([*self.columns, *mapping.lookup_columns.values()])
        cols: list[sa.ColumnClause[Any]] = [sa.column(c) for c in named]
        self.from_: FromClause
        if mapping.table is not None:
            schema, _, name = mapping.table.rpartition(".")
            self.from_ = sa.table(name, *cols, schema=schema or None)
        else:
            assert mapping.select is not None
            self.from_ = sa.text(mapping.select).columns(*cols).subquery("onepane_src")

    def col(self, name: str) -> ColumnElement[Any]:
        return self.from_.c[name]

    def select(self) -> Select[Any]:
        return sa.select(*(self.col(c) for c in self.columns)).select_from(self.from_)

    def probe(self) -> Select[Any]:
        """Zero rows, but a cursor description with every column's type."""
        return self.select().where(sa.false())


def _text(col: Clause, kind: Kind, trim: bool = True) -> Clause:
    base = col if kind in (None, "str") else sa.cast(col, sa.String)
    return sa.func.trim(base) if trim else base


def _constant(text: str) -> Clause:
    """A fixed string of ours written into the SQL text rather than bound as a parameter.

    An expression index (SQLite, PostgreSQL, MySQL 8) serves a comparison only when the query's
    expression is the index's expression token for token; a bound `replace(col, ?, ?)` never is.
    Only the connector's own junk characters come here, never a user's value.
    """
    assert "'" not in text and "\\" not in text, text
    return sa.literal_column(f"'{text}'", sa.String)


def _strip_chars(expr: Clause, chars: Iterable[str]) -> Clause:
    for char in chars:
        expr = sa.func.replace(expr, _constant(char), _constant(""))
    return expr


class _Outside(FunctionElement[bool]):
    """True when a text holds a character outside `chars` (a character-class body): SQLite GLOB,
    PostgreSQL `~`, MySQL/MariaDB REGEXP; all immutable, so an expression index can hold it."""

    type = sa.Boolean()
    inherit_cache = True
    chars = ""


class _NotDigits(_Outside):
    inherit_cache = True
    chars = "0-9"


class _NotLetters(_Outside):
    inherit_cache = True
    chars = "A-Za-z"


class _NotPrintableAscii(_Outside):
    inherit_cache = True
    chars = " -~"


class _NotAlnum(_Outside):
    inherit_cache = True
    chars = "0-9A-Za-z"


@compiles(_Outside, "sqlite")
def _outside_sqlite(element: _Outside, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} GLOB '*[^{element.chars}]*')"


@compiles(_Outside, "postgresql")
def _outside_postgresql(element: _Outside, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} ~ '[^{element.chars}]')"


@compiles(_Outside)
def _outside_regexp(element: _Outside, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} REGEXP '[^{element.chars}]')"


class _Tail(FunctionElement[str]):
    """The last TAIL characters of a text (all of a shorter one)."""

    type = sa.String()
    inherit_cache = True


@compiles(_Tail, "sqlite")
def _tail_sqlite(element: _Tail, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, -{TAIL})"


@compiles(_Tail)
def _tail_right(element: _Tail, compiler: SQLCompiler, **kw: Any) -> str:
    return f"right({compiler.process(element.clauses, **kw)}, {TAIL})"


def _unsure_or(test: Clause, compared: Clause) -> Clause:
    return sa.case((test, _constant(UNSURE)), else_=compared)


def key_expr(plan: Plan, col: Clause, kind: Kind, fold: TextFold = LOWER) -> Clause:
    """What a key lookup compares. For phone, email and code it selects a superset of the rows
    whose value the core's normalizer maps to a wanted key (`key_candidates`); the connector
    keeps only the records whose keys really match, so SQL never answers differently."""
    if plan.stored:
        return col
    if plan.tidy:  # stored values need only case and trim (KeyMap.tidy): the legacy index's form
        return (sa.func.upper if plan.style == "code" else sa.func.lower)(_text(col, kind))
    match plan.style:
        case "phone":
            digits = _strip_chars(_text(col, kind, trim=False), _PHONE_JUNK)
            return _unsure_or(sa.and_(_NotDigits(digits), _NotLetters(digits)), _Tail(digits))
        case "code":
            code = _strip_chars(_text(col, kind, trim=False), _CODE_JUNK)
            return _unsure_or(_NotAlnum(code), sa.func.upper(code))
        case "email":
            text = _text(col, kind, trim=False)
            return _unsure_or(_NotPrintableAscii(text), sa.func.lower(_strip_chars(text, (" ",))))
    base = _text(col, kind)
    match plan.style:
        case "exact":
            return base
        case "enum":
            return sa.func.upper(base)
        case _:
            return fold.sql(base)


def widens(plan: Plan) -> bool:
    """True when `key_expr` selects a superset of the matching rows (the core keeps the matches)."""
    return plan.style in ("phone", "email", "code")


def phone_tails(key: str) -> list[str]:
    """The tails a stored spelling of phone key `key` (E.164 or digits key) can end in."""
    if key.startswith("+"):
        try:
            forms = {*digit_forms(key), key[1:], "00" + key[1:]}
        except Exception:  # phonenumbers' parse errors: not an E.164 key after all
            return []
        return sorted({f[-TAIL:] for f in forms})
    if key.isdigit() and key.isascii() and len(key) >= MIN_DIGITS:
        return [key[-TAIL:]]
    return []  # not a key ("020 7946 0958" as written): the core's keys never equal it


def key_candidates(plan: Plan, normalizer: str, value: Any, region: str) -> list[str]:
    """The texts the key expression may equal for one key value (normalized, or raw)."""
    if plan.style == "phone":
        tails = phone_tails(value) if isinstance(value, str) and _storable(value) else []
        return [*tails, UNSURE] if tails else []
    normal = normalize(normalizer, value, region)
    if normal is None or not _storable(normal):
        return []
    if plan.style in ("email", "code") and not plan.tidy:
        return [normal, UNSURE]
    return [normal]


def key_params(plan: Plan, normalizer: str, values: Iterable[Any], region: str) -> list[str]:
    """Every text the key expression may equal for these values, once each."""
    return list(dict.fromkeys(c for v in values for c in key_candidates(plan, normalizer, v, region)))


def key_clause(plan: Plan, normalizer: str, col: Clause, kind: Kind, values: Iterable[Any],
               region: str, fold: TextFold = LOWER) -> Clause:
    candidates = key_params(plan, normalizer, values, region)
    return key_expr(plan, col, kind, fold).in_(candidates) if candidates else sa.false()


def _storable(value: object) -> bool:
    """Text a column can hold: PostgreSQL rejects NUL and SQLite cuts LIKE patterns at it."""
    return isinstance(value, str) and "\x00" not in value


def _part(text: str, kind: Kind) -> Any:
    """An id part as the column's type; ValueError when it cannot be one."""
    if kind == "int":
        return int(text)
    if kind in ("decimal", "float"):
        return Decimal(text)
    if kind == "date":
        return date.fromisoformat(text)
    return text


def id_target(plan: IdPlan, cols: Sequence[Clause], kinds: Sequence[Kind]) -> Clause:
    """What an id lookup compares: the id expression, or a tuple of them for a composite id."""
    if plan.stored:
        return cols[0]
    exprs = [id_expr(plan, c, k) for c, k in zip(cols, kinds, strict=True)]
    return exprs[0] if len(exprs) == 1 else sa.tuple_(*exprs)


def id_params(plan: IdPlan, kinds: Sequence[Kind], values: Iterable[str]) -> list[Any]:
    """The values `id_target` is compared with: typed parts, tuples for a composite id."""
    if plan.stored:
        return [v for v in values if _storable(v)]
    rows: list[tuple[Any, ...]] = []
    for value in values:
        parts = value.split(plan.sep) if plan.sep else [value]
        if len(parts) != len(kinds) or not _storable(value):
            continue
        try:
            rows.append(tuple(_part(p.strip(), k) for p, k in zip(parts, kinds, strict=True)))
        except ValueError:
            continue
    return [r[0] for r in rows] if len(kinds) == 1 else rows


def id_clause(plan: IdPlan, cols: Sequence[Clause], kinds: Sequence[Kind], values: Iterable[str]) -> Clause:
    """`<id expr> IN (…)`; a composite id is split on its separator and matched as a tuple."""
    params = id_params(plan, kinds, values)
    return id_target(plan, cols, kinds).in_(params) if params else sa.false()


def id_expr(plan: IdPlan, col: Clause, kind: Kind) -> Clause:
    if kind not in (None, "str"):
        return col
    expr = sa.func.trim(col) if plan.trim else col
    return sa.func.upper(expr) if plan.case == "upper" else sa.func.lower(expr) if plan.case == "lower" else expr


def field_expr(plan: Plan, col: Clause, kind: Kind, fold: TextFold = LOWER) -> Clause:
    """The SQL value a field's conditions and order compare."""
    if plan.style == "text":
        return fold.sql(_text(col, kind))
    if plan.style == "enum":
        return key_expr(plan, col, kind)
    if plan.style in ("date", "datetime") and kind in (None, "str"):
        return sa.func.nullif(_text(col, kind, plan.trim), "")
    return col


def text_date(plan: Plan, kind: Kind) -> bool:
    """A date or date-time read from text: SQL compares the text, which may hold no date at all."""
    return plan.style in ("date", "datetime") and kind in (None, "str")


def condition_clause(plan: Plan, col: Clause, kind: Kind, condition: Condition,
                     fold: TextFold = LOWER) -> Clause | None:
    """The SQL for one condition, or None when this value cannot be pushed down exactly."""
    expr = field_expr(plan, col, kind, fold)
    op, value = condition.op, condition.value
    if plan.style == "enum":
        return _enum_clause(plan, expr, value if op == "in" else [value])
    if op == "in":
        encoded = [_encode(plan, kind, v, fold) for v in (value if isinstance(value, list | tuple) else [value])]
        if any(e is None for e in encoded):
            return None
        params = [p for e in encoded if e is not None and e[1] for p in e[0]]
        return expr.in_(params) if params else sa.false()
    one = _encode(plan, kind, value, fold)
    if one is None:
        return None
    params, exact = one
    if not params:
        return sa.false()
    if op in ("prefix", "contains"):
        if plan.style != "text" or not isinstance(params[0], str):
            return None
        return expr.startswith(params[0], autoescape=True) if op == "prefix" else expr.contains(
            params[0], autoescape=True)
    if op == "eq":
        return expr.in_(params) if exact and params else sa.false()
    if len(params) != 1 or plan.style in ("text", "enum"):
        return None
    real_op = op if exact else _FLOOR[op]
    return _compare(expr, real_op, params[0])


def _compare(expr: Clause, op: str, param: Any) -> Clause:
    compare = {"gt": expr.__gt__, "gte": expr.__ge__, "lt": expr.__lt__, "lte": expr.__le__}[op]
    return compare(param)


def order_terms(plan: Plan, col: Clause, kind: Kind, descending: bool) -> list[Clause]:
    """Missing values last whatever the direction, as the core sorts."""
    expr = field_expr(plan, col, kind)
    return [sa.case((expr.is_(None), 1), else_=0), expr.desc() if descending else expr.asc()]


def _encode(plan: Plan, kind: Kind, value: Any, fold: TextFold = LOWER) -> tuple[list[Any], bool] | None:
    """(candidate parameters, exact?) for one condition value; None when it cannot be pushed."""
    if value is None:
        return None
    match plan.style:
        case "text":
            if not isinstance(value, str):
                return None
            return ([fold.value(value)] if _storable(value) else []), True
        case "number":
            return _number(plan, kind, value)
        case "date":
            return _date(plan, kind, value)
        case "datetime":
            return _datetime(plan, kind, value)
    return None


def _enum_clause(plan: Plan, expr: Clause, values: Any) -> Clause | None:
    """Codes that decode to the values; UNKNOWN is every non-empty code decoding to none of them."""
    if not isinstance(values, list | tuple) or any(not isinstance(v, str) for v in values):
        return None
    wanted = {v.strip().upper() for v in values}
    codes = [c for v in wanted for c in plan.codes.get(v, ())]
    clauses: list[Clause] = [expr.in_(codes)] if codes else []
    if "UNKNOWN" in wanted:
        known = [c for cs in plan.codes.values() for c in cs]
        clauses.append(sa.and_(expr.is_not(None), expr != "", expr.not_in(known)))
    return sa.or_(*clauses) if clauses else sa.false()


def _number(plan: Plan, kind: Kind, value: Any) -> tuple[list[Any], bool] | None:
    if kind not in (None, "int", "decimal", "float") or isinstance(value, bool):
        return None
    try:
        amount = (value.amount if isinstance(value, Money) else Decimal(str(value))) * plan.scale
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    integral = amount == amount.to_integral_value()
    if kind == "int":
        return [math.floor(amount)], integral
    if kind == "decimal":
        return [amount], True
    return [int(amount) if integral else float(amount)], True


def _date(plan: Plan, kind: Kind, value: Any) -> tuple[list[Any], bool] | None:
    if not isinstance(value, date) or isinstance(value, datetime):
        return [], True  # the core compares a Date with nothing else
    if kind == "date":
        return [value], True
    return _formatted(plan, kind, value.strftime(plan.fmt) if plan.fmt else None, True)


def _datetime(plan: Plan, kind: Kind, value: Any) -> tuple[list[Any], bool] | None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        return [], True  # the core compares an aware DateTime with nothing else
    if kind == "datetimetz":
        return [value], True
    local = value.astimezone(ZoneInfo(plan.tz or "UTC")).replace(tzinfo=None)
    if kind == "datetime":
        return [local], True
    if kind == "date":
        # A DateTime read from a DATE column (an order date) is that day's midnight in the
        # mapping's zone: compare with the day, floored like a text format without the time.
        day = local.date()
        return [day], local == datetime.combine(day, datetime.min.time())
    if not plan.fmt:
        return None
    text = local.strftime(plan.fmt)
    return _formatted(plan, kind, text, datetime.strptime(text, plan.fmt) == local)


def _formatted(plan: Plan, kind: Kind, text: str | None, exact: bool) -> tuple[list[Any], bool] | None:
    if text is None:
        return None
    if kind in (None, "str"):
        return [text], exact
    if kind == "int" and text.isdigit():
        return [int(text)], exact
    return None


def column_kinds(kinds: Mapping[str, Kind], names: Iterable[str]) -> list[Kind]:
    return [kinds.get(n) for n in names]


# Comparing the bare column: a plain index serves it.

def plain_serves(facts: ColumnFacts | None, kind: Kind, folds_case: bool) -> bool:
    """Whether `plain_params` can serve any value on this column (`_plain`'s cases); when not,
    every lookup needs the expression, and trying the bare column first only costs time."""
    if facts is None:
        return False
    if facts.integers and kind in (None, "int"):
        return True
    return kind in (None, "str") and facts.pads and (facts.case_blind or not folds_case)


def plain_per_value(facts: ColumnFacts | None) -> int:
    """Parameters `plain_params` may bind per value (for chunking)."""
    return (facts.length or 0) + 1 if facts is not None and facts.pads else 1


def plain_params(facts: ColumnFacts | None, kind: Kind, folds_case: bool, values: Iterable[str],
                 compared: Callable[[str], list[str]]) -> tuple[list[Any], list[str]]:
    """Parameters for `col IN (…)` that match exactly the rows the trimming (and, with
    `folds_case`, case-folding) expression matches for `compared(value)` (the texts that
    expression is compared with), and the values this cannot do for (they need the expression).

    - Integer columns: a text in canonical form (`42`, not `042` or ` 42`) is the integer; on
      SQLite the column's INTEGER affinity stores every numeric text as a number, so no stored
      text can trim to it. Another text needs the expression (`trim(col)` of `42` is `42`).
    - Blank-padding columns (PostgreSQL `CHAR(n)`, MariaDB PAD SPACE): equality already ignores
      trailing blanks, and `trim` also drops leading ones, which a column of n characters can
      hold at most n - len(text) of: each count is one candidate (`'42'`, `' 42'`, …). Case
      folding moves onto the comparison only where the collation ignores case (`_ci`).
    """
    params: list[Any] = []
    left: list[str] = []
    for value in values:
        encoded = [_plain(facts, kind, folds_case, text) for text in compared(value)]
        if any(e is None for e in encoded):
            left.append(value)
        else:
            params += [p for e in encoded if e is not None for p in e]
    return params, left


def _plain(facts: ColumnFacts | None, kind: Kind, folds_case: bool, text: str) -> list[Any] | None:
    if facts is None or not _storable(text):
        return None
    if facts.integers and kind in (None, "int"):
        if not _CANONICAL_INT.fullmatch(text):
            return None
        low, high = facts.int_range
        return [int(text)] if low <= int(text) <= high else []  # outside: the column cannot hold it
    if kind in (None, "str") and facts.pads and (facts.case_blind or not folds_case):
        if text != text.strip(" ") or facts.length is None:
            return None
        return [" " * lead + text for lead in range(facts.length - len(text) + 1)]
    return None
