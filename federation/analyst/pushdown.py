"""Which of a statement's filters the `purchases` feed can ask the sources for.

A pushed filter only narrows what is fetched; DuckDB still applies the whole WHERE clause to
what arrives. So a pushed filter must select a superset of the rows the WHERE keeps, and
that is all it must do: `placed_at > X` may be pushed as "from X" (one instant more is
fetched, then dropped). Pushed, per top-level AND of the WHERE clause, when `purchases` is read
exactly once, in the outermost FROM, and no table fed through it (line items, payments…)
is read at all (they would arrive only for the pushed purchases):

- `placed_at` compared (`>= > < <= = BETWEEN`) with anything that holds no column (a literal,
  `current_date - INTERVAL 30 DAY`): evaluated by DuckDB itself, then sent as the half-open
  window `placedFrom`/`placedTo` the API answers;
- `channel = '…'` (a valid channel) and `source = '…'`.

Anything else (OR, functions of the column, other tables, subqueries) is simply not pushed.
The statement is parsed by DuckDB (`json_serialize_sql`), never by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import orjson

__all__ = ["purchase_filter"]

_TINY = timedelta(microseconds=1)
_FLIP = {"COMPARE_GREATERTHANOREQUALTO": "COMPARE_LESSTHANOREQUALTO", "COMPARE_GREATERTHAN": "COMPARE_LESSTHAN",
         "COMPARE_LESSTHAN": "COMPARE_GREATERTHAN", "COMPARE_LESSTHANOREQUALTO": "COMPARE_GREATERTHANOREQUALTO",
         "COMPARE_EQUAL": "COMPARE_EQUAL"}


def purchase_filter(sql: str, fed_through: frozenset[str], channels: frozenset[str],
                    columns: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    """The `PurchaseFilter` that fetches a superset of what `sql` keeps ({} when nothing is safe).

    `fed_through`: the tables whose rows come with purchases (they must sit in the same FROM);
    `columns`: every table's column names, to resolve unqualified names.
    """
    # One locked, in-memory connection parses the statement and folds its constants.
    connection = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        connection.execute("SET TimeZone = 'UTC'")
        tree = orjson.loads(connection.execute("SELECT json_serialize_sql(?::VARCHAR)",
                                               [sql]).fetchone()[0])  # type: ignore[index]
        return _filter(tree, connection, fed_through, channels, columns)
    except (duckdb.Error, TypeError, orjson.JSONDecodeError):
        return {}
    finally:
        connection.close()


def _filter(tree: Mapping[str, Any], connection: duckdb.DuckDBPyConnection, fed_through: frozenset[str],
            channels: frozenset[str], columns: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    if tree.get("error") or len(tree.get("statements") or ()) != 1:
        return {}
    node = tree["statements"][0]["node"]
    if node.get("type") != "SELECT_NODE":
        return {}
    outer = list(_base_tables(node.get("from_table") or {}))
    everywhere = [t for t in _all_base_tables(tree) if t["table_name"].lower() == "purchases"]
    mine = [t for t in outer if t["table_name"].lower() == "purchases"]
    if len(everywhere) != 1 or len(mine) != 1:
        return {}
    if any(_mentions(tree, name) for name in fed_through):
        # Line items (and the rest fed with purchases) would arrive only for the pushed purchases;
        # whether the statement joins them on their purchase is not checked, so nothing is pushed.
        return {}
    alias = (mine[0].get("alias") or "purchases").lower()
    others = {c for t in outer if t is not mine[0] for c in columns.get(t["table_name"].lower(), frozenset())}
    return _window(node.get("where_clause"), connection, alias, others, channels)


def _base_tables(table: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The base tables of one FROM clause (through joins, not into subqueries)."""
    if table.get("type") == "BASE_TABLE":
        yield table
    for side in ("left", "right"):
        if isinstance(table.get(side), Mapping):
            yield from _base_tables(table[side])


def _all_base_tables(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        if value.get("type") == "BASE_TABLE" and isinstance(value.get("table_name"), str):
            yield value
        for item in value.values():
            yield from _all_base_tables(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_base_tables(item)


def _mentions(tree: Any, name: str) -> int:
    return sum(1 for t in _all_base_tables(tree) if t["table_name"].lower() == name)


def _conjuncts(where: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    if not where:
        return
    if where.get("type") == "CONJUNCTION_AND":
        for child in where.get("children") or ():
            yield from _conjuncts(child)
    else:
        yield where


def _column(expr: Mapping[str, Any], alias: str, others: set[str]) -> str | None:
    """The purchases column `expr` is, if it is plainly one (`p.placed_at` or an unambiguous `placed_at`)."""
    if expr.get("class") != "COLUMN_REF":
        return None
    names = [str(n).lower() for n in expr.get("column_names") or ()]
    if len(names) == 2 and names[0] == alias:
        return names[1]
    if len(names) == 1 and names[0] not in others:
        return names[0]
    return None


def _has_column(value: Any) -> bool:
    if isinstance(value, Mapping):
        return value.get("class") in ("COLUMN_REF", "SUBQUERY") or any(_has_column(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_column(v) for v in value)
    return False


def _constant(expr: Mapping[str, Any], kind: str, connection: duckdb.DuckDBPyConnection) -> Any:
    """The value of a column-free expression, computed by DuckDB, or None when it cannot be.

    The expression's parse tree is put into `SELECT CAST((…) AS kind)` and turned back into SQL
    by DuckDB (`json_deserialize_sql`), so `current_date - INTERVAL 30 DAY` folds as DuckDB
    would fold it; the statement holds no column and runs with no file or network access.
    """
    if _has_column(expr):
        return None
    try:
        template = orjson.loads(connection.execute("SELECT json_serialize_sql(?::VARCHAR)",
                                                   [f"SELECT CAST(NULL AS {kind})"]).fetchone()[0])  # type: ignore[index]
        cast = template["statements"][0]["node"]["select_list"][0]
        cast["child"] = expr
        text = connection.execute("SELECT json_deserialize_sql(?::JSON)", [orjson.dumps(template).decode()]).fetchone()
        row = connection.execute(str(text[0])).fetchone() if text else None  # a SELECT of constants only
    except (duckdb.Error, KeyError, IndexError, TypeError):
        return None
    return row[0] if row else None


def _window(where: Mapping[str, Any] | None, connection: duckdb.DuckDBPyConnection, alias: str, others: set[str],
            channels: frozenset[str]) -> dict[str, Any]:
    start: datetime | None = None
    end: datetime | None = None
    out: dict[str, Any] = {}
    for part in _conjuncts(where):
        for column, low, high, equal in _bounds(part, connection, alias, others):
            if column == "placed_at":
                if low is not None and isinstance(low, datetime):
                    start = low if start is None else max(start, low)
                if high is not None and isinstance(high, datetime):
                    end = high if end is None else min(end, high)
            elif column == "channel" and isinstance(equal, str) and equal in channels:
                out["channel"] = equal
            elif column == "source" and isinstance(equal, str):
                out["source"] = equal
    if start is not None:
        out["placedFrom"] = _iso(start)
    if end is not None:
        out["placedTo"] = _iso(end)
    return out


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _bounds(part: Mapping[str, Any], connection: duckdb.DuckDBPyConnection, alias: str,
            others: set[str]) -> Iterator[tuple[str, Any, Any, Any]]:
    """(column, inclusive lower bound, exclusive upper bound, equal value) pieces of one conjunct."""
    kind = part.get("type")
    if kind == "COMPARE_BETWEEN":
        column = _column(part.get("input") or {}, alias, others)
        if column == "placed_at":
            low = _constant(part.get("lower") or {}, "TIMESTAMPTZ", connection)
            high = _constant(part.get("upper") or {}, "TIMESTAMPTZ", connection)
            yield column, low, high + _TINY if high is not None else None, None
        return
    if kind not in _FLIP:
        return
    left, right = part.get("left") or {}, part.get("right") or {}
    column = _column(left, alias, others)
    if column is None:
        column, left, right, kind = _column(right, alias, others), right, left, _FLIP[kind]
    if column == "placed_at":
        value = _constant(right, "TIMESTAMPTZ", connection)
        if value is None:
            return
        if kind in ("COMPARE_GREATERTHANOREQUALTO", "COMPARE_GREATERTHAN"):
            yield column, value, None, None
        elif kind == "COMPARE_LESSTHAN":
            yield column, None, value, None
        elif kind == "COMPARE_LESSTHANOREQUALTO":
            yield column, None, value + _TINY, None
        else:
            yield column, value, value + _TINY, None
    elif column in ("channel", "source") and kind == "COMPARE_EQUAL":
        yield column, None, None, _constant(right, "VARCHAR", connection)
