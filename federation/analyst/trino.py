"""The unified tables as Trino views over the sources' own databases (`federation sql --emit-trino`).

For data too large for one process, a team that runs Trino registers each SQL source as a Trino
catalog and these views over them; Trino then reads the legacy tables directly, in parallel.
Written from the same table plan `federation sql` serves (federation/analyst/tables.py), in three
layers:

- `onepane.records.<table>`: every source's records of one entity in the unified columns
  (`UNION ALL`), each mapping step written as the Trino expression computing the same value;
- `onepane.records.<table>_units`: which unified record each source record belongs to, where
  identity is key-based: with one linking key whose normalizer SQL can repeat (email, code,
  exact), records sharing a value in one key scope bucket are one unit, named by its first record
  in the config's source order as Onepane names it;
- `onepane.unified.<table>`: one row per unit, each column's value chosen by the field's merge
  rule (source priority, `prefer`, `latest`, `union` for lists), relations as unit ids.

What Trino cannot do as Onepane does stays in Onepane and is listed (`kept`): fuzzy identity and
manual links, several linking keys (links are transitive), phone numbers, relations by key,
sources without a Trino connector (REST, files, SQLite), derived fields. docs/analysts.md states
the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graphql import GraphQLSchema

from federation.analyst.tables import Column, Table, plan_tables, snake
from federation.contract import Connector, TrinoView
from federation.identity.scope import Scopes
from federation.model.declaration import EntityDecl, ModelDecl

__all__ = ["TrinoEmission", "emit_trino"]

CATALOG = "onepane"  # the catalog the views live in (a Hive or Iceberg catalog the team already has)
_TYPES = {"VARCHAR": "varchar", "BIGINT": "bigint", "DOUBLE": "double", "BOOLEAN": "boolean",
          "DECIMAL(38,6)": "decimal(38,6)", "DATE": "date", "TIMESTAMPTZ": "timestamp(6) with time zone"}
_FIELD_TYPES = {"String": "varchar", "ID": "varchar", "Int": "bigint", "Float": "double", "Boolean": "boolean",
                "Decimal": "decimal(38,6)", "Date": "date", "DateTime": "timestamp(6) with time zone"}
# Key normalizers SQL can repeat exactly (federation/keys.py), over a varchar expression.
_EMAIL = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
_KEYS: Mapping[str, Callable[[str], str]] = {
    "email": lambda x: (f"(CASE WHEN regexp_like(lower(regexp_replace({x}, '\\s', '')), '{_EMAIL}') "
                        f"THEN lower(regexp_replace({x}, '\\s', '')) END)"),
    "code": lambda x: f"NULLIF(upper(regexp_replace({x}, '[^0-9A-Za-z]+', '')), '')",
    "exact": lambda x: f"NULLIF(trim({x}), '')",
}


@dataclass(slots=True)
class TrinoEmission:
    """Catalog properties per source, the views in creation order, and what stays in Onepane."""

    catalogs: dict[str, dict[str, str]] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def sql(self) -> str:
        head = [f"-- Onepane's unified tables as Trino views over the sources' catalogs ({CATALOG}.unified.*).",
                "-- Stays in Onepane (not in these views):", *(f"--   {note}" for note in self.kept)]
        schemas = [f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.records;", f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.unified;"]
        return "\n".join([*head, "", *schemas, "", *(f"{view};\n" for view in self.views)])

    def write(self, folder: Path) -> list[Path]:
        """`catalog/<source>.properties` for each reachable source and `views.sql`; the paths written."""
        (folder / "catalog").mkdir(parents=True, exist_ok=True)
        written = []
        for source, props in self.catalogs.items():
            path = folder / "catalog" / f"{source}.properties"
            path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
            written.append(path)
        views = folder / "views.sql"
        views.write_text(self.sql(), encoding="utf-8")
        return [*written, views]


def emit_trino(schema: GraphQLSchema, model: ModelDecl, connectors: Mapping[str, Connector],
               scopes: Scopes) -> TrinoEmission:
    """Everything Trino needs to serve the unified tables of `schema` where it can."""
    out = TrinoEmission()
    reachable: dict[str, Connector] = {}
    for name, connector in connectors.items():
        props = connector.trino_catalog()
        if isinstance(props, str):
            out.kept.append(f"source {name}: {props}")
        else:
            out.catalogs[name], reachable[name] = dict(props), connector
    plan = plan_tables(schema, lambda _type, _field: "allow")
    order = {name: i for i, name in enumerate(connectors)}
    emitted: dict[str, str] = {}  # entity -> its table name, for relation joins
    mapped = {entity: [n for n, c in connectors.items() if entity in c.capabilities().entities]
              for entity in model.entities}
    for table in plan.tables.values():
        decl = model.entities.get(table.type_name)
        if decl is None:
            continue
        views = {}
        for source, connector in reachable.items():
            view = connector.trino_view(table.type_name)
            if isinstance(view, TrinoView):
                views[source] = view
            elif source in mapped.get(table.type_name, ()):
                out.kept.append(f"{table.name} from {source}: {view}")
        if not views:
            if mapped.get(table.type_name):
                out.kept.append(f"table {table.name}: no source of {table.type_name} is reachable by Trino")
            continue
        builder = _TableViews(table, decl, model, views, order, scopes, out.kept, mapped)
        out.views += [builder.records(), builder.units(), builder.unified(emitted)]
        emitted[table.type_name] = table.name
    return out


class _TableViews:
    """The three views of one unified table."""

    def __init__(self, table: Table, decl: EntityDecl, model: ModelDecl, views: Mapping[str, TrinoView],
                 order: Mapping[str, int], scopes: Scopes, kept: list[str],
                 mapped: Mapping[str, Sequence[str]]) -> None:
        self.table, self.decl, self.model, self.views, self.mapped = table, decl, model, views, mapped
        self.order, self.scopes, self.kept = order, scopes, kept
        self.records_name = f"{CATALOG}.records.{table.name}"
        self.units_name = f"{CATALOG}.records.{table.name}_units"
        self.fields = [n for n, f in decl.fields.items()
                       if f.type_ref.name in _FIELD_TYPES or f.type_ref.name in model.enums
                       or f.type_ref.name == "Money"]
        self.links = [k for k, key in decl.keys.items()
                      if key.links and any(f"key:{k}" in v.columns or f"key:{k}" in v.kept for v in views.values())]
        self.refs = sorted({r.ref for r in decl.relations.values() if r.ref})

    # ------------------------------------------------------------------ records

    def records(self) -> str:
        parts = [self._select(source, view) for source, view in self.views.items()]
        return f"CREATE OR REPLACE VIEW {self.records_name} AS\n" + "\nUNION ALL\n".join(parts)

    def _select(self, source: str, view: TrinoView) -> str:
        local = view.columns.get("id", "CAST(NULL AS varchar)")
        cols = [f"{_lit(source)} AS source", f"CAST({local} AS varchar) AS local_id",
                f"{_lit(source + ':')} || CAST({local} AS varchar) AS record_id",
                f"{self.order.get(source, 0)} AS source_rank",
                f"CAST({view.columns.get('updated_at', 'NULL')} AS timestamp(6) with time zone) AS updated_at"]
        for name in self.fields:
            ftype = self.decl.fields[name].type_ref.name
            if ftype == "Money":
                for part, kind in (("amount", "decimal(38,6)"), ("currency", "varchar")):
                    expr = view.columns.get(f"field:{name}.{part}", "NULL")
                    cols.append(f"CAST({expr} AS {kind}) AS {_ident('f_' + snake(name) + '_' + part)}")
            else:
                kind = _FIELD_TYPES.get(ftype, "varchar")
                expr = view.columns.get(f"field:{name}", "NULL")
                members = self.model.enums.get(ftype)
                if members is not None and expr != "NULL":
                    # A value outside the enum reads UNKNOWN, as Onepane serves it.
                    other = _lit("UNKNOWN") if "UNKNOWN" in members else "NULL"
                    listed = ", ".join(_lit(m) for m in members)
                    expr = (f"(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} IN ({listed}) THEN {expr} "
                            f"ELSE {other} END)")
                normalize = _KEYS.get(self.decl.fields[name].normalize or "")
                if normalize is not None and self.decl.fields[name].rule == "union" and expr != "NULL":
                    # As Onepane unions them: the normalized form where it reads, else as written.
                    text = f"CAST({expr} AS varchar)"
                    expr = f"COALESCE({normalize(text)}, NULLIF(trim({text}), ''))"
                cols.append(f"CAST({expr} AS {kind}) AS {_ident('f_' + snake(name))}")
            if f"field:{name}" in view.kept:
                self.kept.append(f"{self.table.name}.{snake(name)} from {source}: {view.kept[f'field:{name}']}")
        for key in self.links:
            raw, normalize = view.columns.get(f"key:{key}"), _KEYS.get(self.decl.keys[key].normalize)
            key_expr = normalize(f"CAST({raw} AS varchar)") if raw is not None and normalize is not None else "NULL"
            cols.append(f"CAST({key_expr} AS varchar) AS {_ident('k_' + snake(key))}")
            cols.append(f"{_lit(self.scopes.bucket(self.table.type_name, key, source))} AS {_ident('b_' + snake(key))}")
        for ref in self.refs:
            ref_expr = view.columns.get(f"ref:{ref}") or "NULL"
            cols.append(f"CAST({ref_expr} AS varchar) AS {_ident('r_' + snake(ref))}")
        catalog = _ident(source)
        return "SELECT " + ",\n       ".join(cols) + f"\nFROM {catalog}.{view.relation} AS t"

    # ------------------------------------------------------------------ units

    def units(self) -> str:
        entity, unit = self.table.type_name, "record_id"
        fuzzy = self.decl.identity is not None
        exact = [k for k in self.links if _KEYS.get(self.decl.keys[k].normalize) and not self.decl.keys[k].shared]
        if fuzzy:
            self.kept.append(f"{self.table.name}: fuzzy identity rules link more {entity} records in Onepane")
        # Manual decisions live in Onepane's override store at run time; views cannot read them.
        self.kept.append(f"{self.table.name}: manual links and never-link decisions (the override store) "
                         "apply only in Onepane")
        if len(self.links) == 1 and exact:
            k, b = _ident("k_" + snake(exact[0])), _ident("b_" + snake(exact[0]))
            unit = (f"CASE WHEN {k} IS NULL THEN record_id ELSE first_value(record_id) OVER "
                    f"(PARTITION BY {b}, {k} ORDER BY source_rank, local_id) END")
        elif self.links:
            why = ("several linking keys (links are transitive)" if len(self.links) > 1 else
                   f"the {self.decl.keys[self.links[0]].normalize} normalizer or a shared key")
            self.kept.append(f"{self.table.name}: records linked by {', '.join(self.links)} stay separate rows "
                             f"here; Onepane merges them ({why})")
        return (f"CREATE OR REPLACE VIEW {self.units_name} AS\nSELECT record_id, {unit} AS unit_id\n"
                f"FROM {self.records_name}")

    # ------------------------------------------------------------------ unified

    def unified(self, emitted: Mapping[str, str]) -> str:
        joins: dict[str, str] = {}  # relation name -> the alias of its target's units
        cols = []
        for column in self.table.columns:
            cols.append(f"{self._column(column, emitted, joins)} AS {_ident(column.name)}")
        froms = [f"{self.records_name} AS r", f"JOIN {self.units_name} AS u ON u.record_id = r.record_id"]
        for relation, alias in joins.items():
            rel = self.decl.relations[relation]
            target = f"{CATALOG}.records.{emitted[rel.entity]}_units"
            froms.append(f"LEFT JOIN {target} AS {alias} ON {alias}.record_id = r.source || ':' || "
                         f"{_ident('r_' + snake(rel.ref or ''))}")
        return (f"CREATE OR REPLACE VIEW {CATALOG}.unified.{self.table.name} AS\nSELECT "
                + ",\n       ".join(cols) + "\nFROM " + "\n".join(froms) + "\nGROUP BY u.unit_id")

    def _column(self, column: Column, emitted: Mapping[str, str], joins: dict[str, str]) -> str:
        kind = _trino_type(column.sql_type)
        head = column.path[0]
        if column.path == ("id",):
            return "u.unit_id"
        if column.path == ("source",) and "source" not in self.decl.fields:
            return self._first("r.source", None)  # the source of the unit's first record
        relation = self._relation_of(column)
        if relation is not None:
            rel = self.decl.relations[relation]
            if rel.ref and rel.entity in emitted:
                alias = joins.setdefault(relation, f"j{len(joins)}")
                return self._first(f"{alias}.unit_id", None)
            if self.mapped.get(rel.entity):  # else Onepane has nothing there either
                how = "by key" if rel.keys and not rel.ref else "to a table Trino does not serve"
                self.kept.append(f"{self.table.name}.{column.name}: a relation {how}")
            return f"CAST(NULL AS {kind})"
        fdecl = self.decl.fields.get(head)
        if fdecl is None or head not in self.fields or not any(
                f"field:{head}" in v.columns or f"field:{head}.amount" in v.columns for v in self.views.values()):
            if fdecl is None or (fdecl.raw_of and any(f"field:{fdecl.raw_of}" in v.columns
                                                       for v in self.views.values())):
                self.kept.append(f"{self.table.name}.{column.name}: computed by Onepane")
            return f"CAST(NULL AS {kind})"
        name = "f_" + snake(head) + (f"_{column.path[1]}" if len(column.path) > 1 else "")
        value = f"r.{_ident(name)}"
        # Onepane counts an empty text as no value.
        present = f"{value} IS NOT NULL" + (f" AND {value} <> ''" if column.sql_type.startswith("VARCHAR") else "")
        if fdecl.rule == "union" or column.is_list:
            # An empty list where no record has one, as Onepane answers, never NULL.
            return (f"COALESCE(array_distinct(array_agg({value} ORDER BY r.source_rank, r.local_id) "
                    f"FILTER (WHERE {present})), CAST(ARRAY[] AS {kind}))")
        if len(column.path) > 1:  # a Money's parts come from one record: the one whose amount is chosen
            present = f"r.{_ident('f_' + snake(head) + '_amount')} IS NOT NULL"
        return self._first(value, present, fdecl.rule, fdecl.prefer)

    def _relation_of(self, column: Column) -> str | None:
        if column.path == ("__parent__",):
            parent = self.table.parent
            rel = self.model.entities[parent.type_name].relations.get(self.table.via) if parent else None
            return rel.backref if rel is not None and rel.backref in self.decl.relations else None
        if len(column.path) == 2 and column.path[1] == "id" and column.path[0] in self.decl.relations:
            return column.path[0]
        return None

    def _first(self, value: str, present: str | None, rule: str = "priority", prefer: Sequence[str] = ()) -> str:
        """The value of the first record that has one, in the merge rule's order."""
        order = ["r.source_rank", "r.local_id"]
        if prefer:
            ranks = " ".join(f"WHEN {_lit(s)} THEN {i}" for i, s in enumerate(prefer))
            order.insert(0, f"CASE r.source {ranks} ELSE {len(prefer)} END")
        if rule == "latest":
            order.insert(0, "r.updated_at DESC NULLS LAST")
        return (f"element_at(array_agg({value} ORDER BY {', '.join(order)}) "
                f"FILTER (WHERE {present or f'{value} IS NOT NULL'}), 1)")


def _trino_type(sql_type: str) -> str:
    if sql_type.endswith("[]"):
        return f"array({_trino_type(sql_type[:-2])})"
    return _TYPES.get(sql_type, "varchar")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
