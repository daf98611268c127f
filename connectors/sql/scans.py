"""Would a lookup read a whole table? Ask the database's planner (EXPLAIN), never guess.

`federation check` and `federation indexes` send each lookup's real statement, with a sample
value, through EXPLAIN and flag it only when the plan reads every row of a table holding more
than a threshold of rows: a table scan of a 40-row code table costs nothing and needs no index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import FromClause

__all__ = ["more_rows_than", "scanned_tables"]


async def more_rows_than(conn: AsyncConnection, from_: FromClause, rows: int) -> bool:
    """Whether the table (or custom select) holds more than `rows` rows; reads at most rows + 1."""
    bounded = sa.select(sa.literal_column("1")).select_from(from_).limit(rows + 1).subquery("onepane_count")
    found = (await conn.execute(sa.select(sa.func.count()).select_from(bounded))).scalar_one()
    return int(found) > rows


async def scanned_tables(conn: AsyncConnection, statement: sa.Select[Any], params: Mapping[str, Any]) -> list[str]:
    """The tables the plan of `statement` with `params` reads in full (a sequential or full scan)."""
    dialect = conn.dialect
    state = statement.compile(dialect=dialect).construct_expanded_state(dict(params))
    sql = state.statement
    positional = tuple(state.positional_parameters) if state.positional_parameters is not None else ()
    bound: Any = positional if positional else state.parameters
    if dialect.name == "sqlite":
        rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", bound)).all()
        details = [str(row[-1]) for row in rows]
        return [d.split()[1] for d in details if d.startswith("SCAN ") and len(d.split()) > 1]
    if dialect.name == "postgresql":
        raw = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", bound)).scalar_one()
        plan = json.loads(raw) if isinstance(raw, str) else raw
        return [str(node.get("Relation Name")) for node in _nodes(plan) if node.get("Node Type") == "Seq Scan"]
    result = await conn.exec_driver_sql(f"EXPLAIN {sql}", bound)
    keys = list(result.keys())
    described = [dict(zip(keys, row, strict=True)) for row in result.all()]
    # MariaDB/MySQL: `ALL` reads every row, `index` every entry of an index.
    return [str(row.get("table")) for row in described if row.get("type") in ("ALL", "index")]


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, list):
        for item in plan:
            yield from _nodes(item)
    elif isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan
        for key in ("Plan", "Plans"):
            if key in plan:
                yield from _nodes(plan[key])
