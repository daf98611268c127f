"""Convert the public Northwind PostgreSQL dump (northwind.sql beside this file) into statements
MariaDB loads, and optionally load them into a new database.

    python tests/data/northwind/to_mariadb.py > northwind.mariadb.sql
    python tests/data/northwind/to_mariadb.py --load mysql://root@127.0.0.1:3306   # prints the new database's URL

What changes, and why:
- types: `character varying(n)` → VARCHAR(n), `real` → FLOAT (both 4-byte floats), `integer` →
  INT, `bytea` → LONGBLOB; tables are InnoDB with utf8mb4 so accented names survive.
- `bytea` values (the category pictures and employee photos, which this dump holds as empty
  `'\\x'` literals) are loaded as NULL: no test reads them.
- string literals: PostgreSQL's dump uses standard strings (a backslash is a character), MariaDB
  reads a backslash as an escape by default, so every backslash is doubled.
- `SET` lines (PostgreSQL session settings) and `DROP TABLE IF EXISTS` (the database is new) are
  dropped; `ALTER TABLE ONLY` loses `ONLY`;
  a foreign key written `REFERENCES customers` names the referenced table's primary key columns,
  which MariaDB requires.
- consecutive INSERTs into one table become multi-row INSERTs (500 rows each), so loading takes
  a fraction of a second.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

DUMP = Path(__file__).with_name("northwind.sql")
ROWS_PER_INSERT = 500

_TYPES = [
    (re.compile(r"\bcharacter varying\((\d+)\)", re.I), r"VARCHAR(\1)"),
    (re.compile(r"\bsmallint\b", re.I), "SMALLINT"),
    (re.compile(r"\binteger\b", re.I), "INT"),
    (re.compile(r"\breal\b", re.I), "FLOAT"),
    (re.compile(r"\bbytea\b", re.I), "LONGBLOB"),
    (re.compile(r"\btext\b", re.I), "TEXT"),
    (re.compile(r"\bdate\b", re.I), "DATE"),
]
_CREATE = re.compile(r"CREATE TABLE (\w+) \((.*)\)\s*$", re.S | re.I)
_INSERT = re.compile(r"INSERT INTO (\w+) VALUES \((.*)\)\s*$", re.S | re.I)
_PRIMARY = re.compile(r"ALTER TABLE (?:ONLY )?(\w+)\s+ADD CONSTRAINT (\w+) PRIMARY KEY \(([^)]*)\)\s*$", re.S | re.I)
_FOREIGN = re.compile(r"ALTER TABLE (?:ONLY )?(\w+)\s+ADD CONSTRAINT (\w+) FOREIGN KEY \(([^)]*)\) REFERENCES (\w+)"
                      r"(?:\s*\(([^)]*)\))?\s*$", re.S | re.I)
_VALUE = re.compile(r"\s*('(?:[^']|'')*'|[^,]+?)\s*(?:,|$)", re.S)


class DumpError(ValueError):
    """A statement of the dump this converter does not know how to translate (named, not skipped)."""


def statements(sql: str) -> Iterator[str]:
    """The dump's statements, without `--` comments, split on `;` outside string literals."""
    out: list[str] = []
    quoted = False
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quoted:
            out.append(ch)
            if ch == "'":
                quoted = False  # a doubled '' re-opens on the next character
        elif ch == "'":
            quoted = True
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif ch == ";":
            text = "".join(out).strip()
            if text:
                yield text
            out = []
        else:
            out.append(ch)
        i += 1
    if "".join(out).strip():
        raise DumpError(f"the dump ends inside a statement: {''.join(out).strip()[:60]!r}")


def _values(text: str) -> list[str]:
    values = [m.group(1) for m in _VALUE.finditer(text) if m.group(1)]
    return values


def _column_types(body: str) -> list[tuple[str, str]]:
    columns = []
    for line in body.split(",\n"):
        name, _, kind = line.strip().partition(" ")
        columns.append((name, kind))
    return columns


def _literal(value: str, kind: str) -> str:
    if value.upper() == "NULL":
        return "NULL"
    if kind.lower().startswith("bytea"):
        return "NULL"  # pictures are dropped (module docstring)
    if value.startswith("'"):
        return value.replace("\\", "\\\\")
    return value


def convert(sql: str) -> list[str]:
    """MariaDB statements for the PostgreSQL dump `sql`."""
    tables: dict[str, list[tuple[str, str]]] = {}
    primary: dict[str, str] = {}
    out: list[str] = []
    pending: tuple[str, list[str]] | None = None

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            table, rows = pending
            for start in range(0, len(rows), ROWS_PER_INSERT):
                out.append(f"INSERT INTO {table} VALUES " + ",\n".join(rows[start:start + ROWS_PER_INSERT]))
            pending = None

    for statement in statements(sql):
        if insert := _INSERT.match(statement):
            table = insert.group(1)
            if table not in tables:
                raise DumpError(f"INSERT INTO {table} before its CREATE TABLE")
            columns = tables[table]
            values = _values(insert.group(2))
            if len(values) != len(columns):
                raise DumpError(f"INSERT INTO {table}: {len(values)} values for {len(columns)} columns: "
                                f"{statement[:80]!r}")
            row = "(" + ", ".join(_literal(v, kind) for v, (_, kind) in zip(values, columns, strict=True)) + ")"
            if pending is None or pending[0] != table:
                flush()
                pending = (table, [])
            pending[1].append(row)
            continue
        flush()
        upper = statement.upper()
        if upper.startswith("SET "):
            continue  # PostgreSQL session settings
        if upper.startswith("DROP TABLE"):
            continue  # the database is new: there is nothing to drop
        if create := _CREATE.match(statement):
            table, body = create.group(1), create.group(2).strip()
            tables[table] = _column_types(body)
            for pattern, replacement in _TYPES:
                body = pattern.sub(replacement, body)
            out.append(f"CREATE TABLE {table} ({body}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        elif key := _PRIMARY.match(statement):
            primary[key.group(1)] = key.group(3)
            # MariaDB ignores a primary key's name (and warns): the key alone.
            out.append(f"ALTER TABLE {key.group(1)} ADD PRIMARY KEY ({key.group(3)})")
        elif foreign := _FOREIGN.match(statement):
            table, name, mine, theirs, their_columns = foreign.groups()
            if their_columns is None and theirs not in primary:
                raise DumpError(f"foreign key {name} references {theirs}, which has no primary key yet")
            their_columns = their_columns or primary[theirs]
            out.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({mine}) "
                       f"REFERENCES {theirs} ({their_columns})")
        else:
            raise DumpError(f"no MariaDB translation for: {statement[:80]!r}")
    flush()
    return out


async def load(server_url: str, prefix: str = "northwind") -> str:
    """Create a new database `<prefix>_<random>` on the MariaDB server at `server_url`
    (`mysql://user@host:port`), load the converted dump, and return the database's URL."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    base = server_url.rstrip("/").replace("mysql://", "mysql+aiomysql://", 1)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(base + "/", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    await admin.dispose()
    engine = create_async_engine(f"{base}/{name}?charset=utf8mb4")
    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            cursor = await raw.driver_connection.cursor()  # type: ignore[union-attr]
            for statement in convert(DUMP.read_text("utf-8")):
                # The raw cursor, not sa.text: the statements are literal SQL (a ':' in a value
                # must not be read as a bind parameter, a '%' not as a format).
                await cursor.execute(statement)
            await cursor.close()
    finally:
        await engine.dispose()
    return f"{base}/{name}"


async def drop(database_url: str) -> None:
    """Drop the database `load` created."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    base, _, name = database_url.rpartition("/")
    admin = create_async_engine(base + "/", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    await admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", metavar="SERVER_URL",
                        help="load into a new database on this server (mysql://user@host:port) and print its URL")
    args = parser.parse_args(argv)
    if args.load:
        print(asyncio.run(load(args.load)))
    else:
        sys.stdout.write(";\n\n".join(convert(DUMP.read_text("utf-8"))) + ";\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
