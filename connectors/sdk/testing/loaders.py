"""The canonical dataset in the forms sources hold it: SQL tables, JSON arrays, export files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from connectors.sdk.testing.dataset import COLUMNS, ENTITIES, TABLES, rows

__all__ = ["json_body", "load_sql", "sql_tables", "write_files"]


def sql_tables(schema: str | None = None) -> Any:
    """SQLAlchemy `MetaData` with one table per entity (`customers`, `purchases`), every column
    text except the purchase total, an integer of minor units."""
    import sqlalchemy as sa

    meta = sa.MetaData(schema=schema)
    for entity in ENTITIES:
        sa.Table(TABLES[entity], meta, *(
            sa.Column(name, sa.Integer if name == "total_minor" else sa.String(100), primary_key=name == "id")
            for name in COLUMNS[entity]))
    return meta


async def load_sql(url: str, schema: str | None = None) -> None:
    """Create the tables in the database at `url` (an async SQLAlchemy URL) and insert the rows."""
    from sqlalchemy.ext.asyncio import create_async_engine

    meta = sql_tables(schema)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            for entity in ENTITIES:
                table = meta.tables[f"{schema}.{TABLES[entity]}" if schema else TABLES[entity]]
                await conn.execute(table.insert(), rows(entity))
    finally:
        await engine.dispose()


def json_body(entity: str) -> list[dict[str, Any]]:
    """The entity's rows as a JSON API returns them (nulls kept)."""
    body: list[dict[str, Any]] = json.loads(json.dumps(rows(entity)))  # a fresh copy to filter and page
    return body


def write_files(folder: Path, entity: str, fmt: str = "csv") -> Path:
    """Write the entity's rows to `folder/<table>.<fmt>` (`csv` with a header, or `jsonl`);
    an empty cell where the source holds nothing. The file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TABLES[entity]}.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows(entity)), encoding="utf-8")
        return path
    if fmt != "csv":
        raise ValueError(f"format '{fmt}' is not written by the kit (valid: csv, jsonl)")
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS[entity])
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows(entity))
    return path
