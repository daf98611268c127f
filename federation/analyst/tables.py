"""The unified model as SQL tables: which tables a role has, their typed columns, and how to fetch them.

Derived from the served GraphQL schema (built-in model plus config), never written by hand, so
an entity or field added by config is a table or column at once. Every object type with an `id`
that can be reached from a listing root (`customerList`, `purchases`) is one table, named in
snake case and plural (`LineItem` → `line_items`):

- scalar and enum fields are typed columns (`placedAt` → `placed_at TIMESTAMPTZ`); a list of
  scalars is a LIST column; Money and other small id-less objects become one column per part
  (`total` → `total_amount DECIMAL`, `total_currency VARCHAR`);
- a to-one relation is an id column (`customer` → `customer_id`), the join key to its table;
- a table reached through a parent's list relation carries the parent's id (`line_items.purchase_id`).

Fields the role may not read are not columns at all; masked ones are VARCHAR and read masked,
because the rows are fetched through GraphQL under the caller's role (federation/analyst/sql.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
)

__all__ = ["Column", "Table", "TablePlan", "plan_tables", "snake"]

# Listing roots, in order: a type reached from the first is not fetched again through the second.
ROOTS = (("customerList", "Customer"), ("purchases", "Purchase"))
SQL_TYPES = {"ID": "VARCHAR", "String": "VARCHAR", "Int": "BIGINT", "Float": "DOUBLE", "Boolean": "BOOLEAN",
             "Decimal": "DECIMAL(38,6)", "Date": "DATE", "DateTime": "TIMESTAMPTZ"}
Allowed = Callable[[str, str], str]  # (type, field) -> "allow" | "mask" | "deny"


def snake(name: str) -> str:
    """`placedAt` → `placed_at`, `LineItem` → `line_item`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _plural(name: str) -> str:
    word = snake(name)
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str  # a DuckDB type; `[]` suffix for a list
    path: tuple[str, ...]  # where the value sits in one GraphQL node
    graphql_type: str  # the scalar's name, for reading the value

    @property
    def is_list(self) -> bool:
        return self.sql_type.endswith("[]")


@dataclass(slots=True)
class Table:
    """One entity as a table: its columns and the selection that fetches them inside the parent's."""

    name: str
    type_name: str
    description: str
    columns: list[Column] = field(default_factory=list)
    parent: Table | None = None
    via: str = ""  # the parent's field that holds this table's rows
    one: bool = False  # `via` is a to-one relation (a store per purchase): rows repeat, kept once by id
    children: list[Table] = field(default_factory=list)

    def add(self, column: Column) -> None:
        """A column, unless one of that name is there (a case's parent customer and its `customer`)."""
        if all(c.name != column.name for c in self.columns):
            self.columns.append(column)

    def selection(self, wanted: frozenset[str]) -> str:
        """This table's GraphQL selection (with the child tables in `wanted`)."""
        picks: dict[str, Any] = {}
        for column in self.columns:
            if column.path == ("__parent__",):
                continue
            node = picks
            for part in column.path[:-1]:
                node = node.setdefault(part, {})
            node.setdefault(column.path[-1], None)
        parts = [_render(picks)]
        parts += [f"{child.via} {{ {child.selection(wanted)} }}" for child in self.children if child.name in wanted]
        return " ".join(p for p in parts if p)


def _render(picks: dict[str, Any]) -> str:
    return " ".join(name if sub is None else f"{name} {{ {_render(sub)} }}" for name, sub in picks.items())


@dataclass(slots=True)
class TablePlan:
    """Every table a role has, and for each listing root the tables fetched through it."""

    tables: dict[str, Table]
    roots: dict[str, Table]  # root field -> its top table
    channels: frozenset[str] = frozenset()  # SalesChannel's values, for pushing `channel = '…'`

    def fed_through(self, root: str) -> frozenset[str]:
        """The tables whose rows arrive inside `root`'s pages (its own table excluded)."""
        top = self.roots[root]
        return frozenset(n for n, t in self.tables.items() if t is not top and self.root_of(t)[1] is top)

    def root_of(self, table: Table) -> tuple[str, Table]:
        top = table
        while top.parent is not None:
            top = top.parent
        return next((name, t) for name, t in self.roots.items() if t is top)

    def needed(self, names: set[str]) -> frozenset[str]:
        """The tables to fetch for `names`: each with every ancestor its rows are fetched through."""
        out: set[str] = set()
        for name in names:
            table: Table | None = self.tables[name]
            while table is not None:
                out.add(table.name)
                table = table.parent
        return frozenset(out)


def _unwrap(kind: GraphQLType) -> tuple[GraphQLType, bool]:
    """The named type inside NonNull/List wrappers, and whether a list was among them."""
    listed = False
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        listed = listed or isinstance(kind, GraphQLList)
        kind = kind.of_type
    return kind, listed


def _has_id(kind: GraphQLType) -> bool:
    return isinstance(kind, GraphQLObjectType) and "id" in kind.fields


def _scalar_columns(prefix: str, path: tuple[str, ...], kind: GraphQLType, listed: bool,
                    masked: bool) -> Iterator[Column]:
    if isinstance(kind, GraphQLEnumType):
        name = "String"
    elif isinstance(kind, GraphQLScalarType):
        name = kind.name
    else:
        return
    sql = "VARCHAR" if masked else SQL_TYPES.get(name, "VARCHAR")
    yield Column(prefix, sql + ("[]" if listed else ""), path, "String" if masked else name)


def plan_tables(schema: GraphQLSchema, decide: Allowed) -> TablePlan:
    """The tables `decide` lets a role read, breadth first from the listing roots."""
    tables: dict[str, Table] = {}
    roots: dict[str, Table] = {}
    owner: dict[str, Table] = {}  # GraphQL type -> its table
    queue: list[Table] = []
    for root, type_name in ROOTS:
        kind = schema.type_map.get(type_name)
        query = schema.query_type
        if query is None or root not in query.fields or not isinstance(kind, GraphQLObjectType):
            continue
        if decide("Query", root) == "deny" or decide(type_name, "id") == "deny":
            continue
        if type_name in owner:
            continue
        table = Table(_plural(type_name), type_name, kind.description or "")
        owner[type_name], tables[table.name], roots[root] = table, table, table
        queue.append(table)
    while queue:
        table = queue.pop(0)
        kind = schema.type_map[table.type_name]
        assert isinstance(kind, GraphQLObjectType)
        for name, gql_field in kind.fields.items():
            child = _column_or_child(table, name, gql_field, decide, owner, schema)
            if child is not None:
                owner[child.type_name], tables[child.name] = child, child
                table.children.append(child)
                queue.append(child)
    channels = schema.type_map.get("SalesChannel")
    values = frozenset(channels.values) if isinstance(channels, GraphQLEnumType) else frozenset()
    return TablePlan(tables, roots, values)


def _column_or_child(table: Table, name: str, gql_field: GraphQLField, decide: Allowed,
                     owner: dict[str, Table], schema: GraphQLSchema) -> Table | None:
    """Add the columns `name` gives `table`; a new child table when it is a list of a new entity."""
    action = decide(table.type_name, name)
    required_args = any(isinstance(a.type, GraphQLNonNull) for a in gql_field.args.values())
    if action == "deny" or required_args:
        return None
    kind, listed = _unwrap(gql_field.type)
    column = snake(name)
    if not isinstance(kind, GraphQLObjectType):
        for scalar in _scalar_columns(column, (name,), kind, listed, action == "mask"):
            table.add(scalar)
        return None
    if _has_id(kind):
        readable_id = decide(kind.name, "id") != "deny"
        if not listed and not readable_id:
            return None  # nothing to join on
        if not listed:
            table.add(Column(f"{column}_id", "VARCHAR", (name, "id"), "ID"))
            if kind.name in owner:
                return None
            return Table(_plural(kind.name), kind.name, kind.description or "", parent=table, via=name, one=True)
        if kind.name in owner:
            return None  # its table is fetched elsewhere and carries the join key
        # Rows under a parent's list are the parent's, even for a role that may not read their own ids.
        child = Table(_plural(kind.name), kind.name, kind.description or "", parent=table, via=name)
        if decide(table.type_name, "id") != "deny":
            child.add(Column(f"{snake(table.type_name)}_id", "VARCHAR", ("__parent__",), "ID"))
        return child
    if listed or any(not isinstance(_unwrap(f.type)[0], GraphQLScalarType | GraphQLEnumType)
                     for f in kind.fields.values()):
        return None  # provenance, conflicts, timelines: nested detail, not a column
    for part, sub in kind.fields.items():
        if decide(kind.name, part) == "deny":
            continue
        sub_kind, sub_listed = _unwrap(sub.type)
        masked = action == "mask" or decide(kind.name, part) == "mask"
        # Payment.amount's amount is `amount` (with `amount_currency`), not `amount_amount`.
        label = column if snake(part) == column else f"{column}_{snake(part)}"
        for scalar in _scalar_columns(label, (name, part), sub_kind, sub_listed, masked):
            table.add(scalar)
    return None
