"""A SQL source as Trino sees it: catalog properties and each entity's mapping as Trino SQL.

`federation sql --emit-trino` (federation/analyst/trino.py) builds the unified tables as Trino
views from these, for data too large for one process. Each mapping step becomes the Trino
expression that computes the same value for the values a legacy column holds; a step without
one (a custom `select:`, `split`, `last`, a phone's region rule, …) is named in `kept` and that
column stays in Onepane. Where Onepane keeps an unreadable value and labels it, Trino's `try`
and `try_cast` read NULL: the boundary docs/analysts.md states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url

from connectors.sdk.currency import currency_code, minor_digits
from connectors.sdk.mapping import FieldMap
from connectors.sdk.transforms import EPOCH_UNITS, strptime_format
from connectors.sql.config import SqlEntityMap
from federation.contract import TrinoView
from federation.model.declaration import EntityDecl

__all__ = ["trino_catalog", "trino_view"]

# SQLAlchemy backend → Trino connector and JDBC scheme.
_CATALOGS = {"postgresql": ("postgresql", "postgresql"), "mysql": ("mysql", "mysql"),
             "mariadb": ("mariadb", "mariadb")}
# strptime directives → Trino's date_parse (MySQL's) specifiers: minutes and seconds differ.
_DATE_PARSE = {"%Y": "%Y", "%y": "%y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%i", "%S": "%s",
               "%I": "%h", "%p": "%p", "%b": "%b", "%f": "%f"}


class Unsupported(Exception):
    """A mapping step or shape Trino cannot compute as Onepane does."""


def trino_catalog(source: str, url: str) -> Mapping[str, str] | str:
    """Catalog properties for the database behind `url`, or why there is none."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _CATALOGS:
        return f"Trino has no connector for {backend} databases"
    connector, scheme = _CATALOGS[backend]
    host, port = parsed.host or "localhost", parsed.port
    address = f"{host}:{port}" if port else host
    database = f"/{parsed.database}" if parsed.database and backend == "postgresql" else "/"
    props = {"connector.name": connector, "connection-url": f"jdbc:{scheme}://{address}{database}"}
    if parsed.username:
        props["connection-user"] = parsed.username
    if parsed.password is not None:
        # Never the password itself: the operator sets it in Trino's environment.
        props["connection-password"] = "${ENV:" + f"ONEPANE_{_env(source)}_PASSWORD" + "}"
    return props


def trino_view(url: str, mapping: SqlEntityMap, decl: EntityDecl) -> TrinoView | str:
    """Trino expressions for one entity's mapping, or why the entity cannot be read by Trino."""
    if mapping.table is None:
        return "a custom select: is written in the source's own SQL dialect"
    parsed = make_url(url)
    parts = mapping.table.split(".")
    if len(parts) == 1:
        schema = "public" if parsed.get_backend_name() == "postgresql" else (parsed.database or "")
        parts = [schema, parts[0]]
    relation = ".".join(_ident(p) for p in parts)
    columns: dict[str, str] = {}
    kept: dict[str, str] = {}

    def add(name: str, spec: FieldMap, money: bool = False) -> None:
        try:
            if money:
                amount, currency = _money(spec)
                columns[f"{name}.amount"], columns[f"{name}.currency"] = amount, currency
            else:
                columns[name] = _expression(spec)
        except Unsupported as why:
            kept[name] = str(why)

    add("id", mapping.id)
    for name, spec in mapping.fields.items():
        field = decl.fields.get(name)
        if field is None:
            continue
        if spec.region is not None or field.normalize == "phone":
            kept[f"field:{name}"] = "phone numbers are read with their region's numbering plan"
            continue
        add(f"field:{name}", spec, money=field.type_ref.name == "Money")
    for name, spec in mapping.keys.items():
        add(f"key:{name}", spec)
    for name, spec in mapping.refs.items():
        add(f"ref:{name}", spec)
    if mapping.updated_at is not None:
        add("updated_at", mapping.updated_at)
    return TrinoView(relation, columns, kept)


def _expression(spec: FieldMap) -> str:
    if not spec.origin:
        value = _literal(spec.value)
        return _steps(value, spec.transform)
    if len(spec.origin) != 1:
        raise Unsupported("a value read from several columns")
    return _steps(f"t.{_ident(spec.origin[0])}", spec.transform)


def _money(spec: FieldMap) -> tuple[str, str]:
    """(amount, currency) for a Money field: `{money_minor: GBP}`, `{money: GBP}` or two columns."""
    *before, last = spec.transform or ("?",)
    name, arg = _step(last)
    if name not in ("money", "money_minor"):
        raise Unsupported("money without a money or money_minor step")
    if len(spec.origin) == 2 and name == "money" and arg is None:
        amount = _steps(f"t.{_ident(spec.origin[0])}", tuple(before))
        return f"try_cast({amount} AS decimal(38,6))", f"upper(trim(CAST(t.{_ident(spec.origin[1])} AS varchar)))"
    if len(spec.origin) != 1 or arg is None:
        raise Unsupported("money read from several columns")
    code = currency_code(arg)
    amount = f"try_cast({_steps(f't.{_ident(spec.origin[0])}', tuple(before))} AS decimal(38,6))"
    if name == "money_minor":
        digits = minor_digits(code)
        if digits is None:
            raise Unsupported(f"{code} has no minor unit")
        amount = f"CAST({amount} / {10 ** digits} AS decimal(38,6))" if digits else amount
    return amount, _literal(code)


def _step(step: Any) -> tuple[str, Any]:
    if isinstance(step, str):
        return step, None
    name, arg = next(iter(dict(step).items()))
    return str(name), arg


def _steps(expr: str, steps: tuple[Any, ...]) -> str:
    for step in steps:
        name, arg = _step(step)
        expr = _one(name, arg, expr)
    return expr


def _one(name: str, arg: Any, e: str) -> str:  # one return per transform
    text = f"CAST({e} AS varchar)"
    if name == "strip":
        return f"trim({text})"
    if name in ("upper", "lower"):
        return f"{name}({text})"
    if name == "text":
        return text
    if name == "int":
        return f"try_cast(trim({text}) AS bigint)"
    if name == "null_if":
        return f"NULLIF(trim({text}), {_literal(str(arg))})"
    if name == "default":
        return f"COALESCE({e}, {_literal(arg)})"
    if name == "enum":
        cases = " ".join(f"WHEN {_literal(str(k).strip().upper())} THEN {_literal(str(v))}"
                         for k, v in dict(arg).items())
        return f"(CASE upper(trim({text})) {cases} ELSE upper(trim({text})) END)"
    if name == "date":
        if not arg or str(arg).upper() == "ISO":
            return f"try_cast({e} AS date)"
        return f"CAST(try(date_parse(trim({text}), {_literal(_date_parse(str(arg)))})) AS date)"
    if name == "datetime":
        options = arg if isinstance(arg, Mapping) else {"format": arg}
        fmt, zone = options.get("format"), options.get("tz") or "UTC"
        if fmt and str(fmt).upper() != "ISO":
            local = f"try(date_parse(trim({text}), {_literal(_date_parse(str(fmt)))}))"
            return f"with_timezone({local}, {_literal(zone)})"
        return f"try_cast({e} AS timestamp(6) with time zone)"
    if name == "epoch":
        unit = EPOCH_UNITS.get(arg or "s", 1)
        return f"from_unixtime(try_cast({e} AS double) / {unit})"
    raise Unsupported(f"the {name} transform")


def _date_parse(pattern: str) -> str:
    out = strptime_format(pattern)
    for directive, specifier in _DATE_PARSE.items():
        out = out.replace(directive, "\0" + specifier[1:])
    if "%" in out:
        raise Unsupported(f"the date format {pattern}")
    return out.replace("\0", "%")


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _env(source: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in source).upper()
