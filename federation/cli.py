"""`federation demo | serve | check | indexes | schema | query | sql | identity train | import | new-connector`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from federation.config import load_config, load_model
from federation.contract import SCAN_ROWS
from federation.engine.gateway import DEGRADED_ENV, IDENTITY_DEGRADED_ENV, Gateway
from federation.errors import ConfigError
from federation.identity.collisions import find_collisions
from federation.identity.sampling import SourceSamples
from federation.identity.uniqueness import Uniqueness, sample_uniqueness

__all__ = ["main"]

console = Console(stderr=True, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="federation", description="Onepane: one customer across every system.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build the demo legacy systems and serve the gateway over them")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--dir", type=Path, default=Path("onepane-demo"), help="working folder for the demo data")
    alone = demo.add_mutually_exclusive_group()
    alone.add_argument("--build-only", action="store_true",
                       help="only build the demo data and its config (serve it with `federation serve DIR/demo.yaml`)")
    alone.add_argument("--systems-only", action="store_true",
                       help="build, then run only the demo's legacy systems (the CRM on 127.0.0.1:8701), no gateway")
    serve = commands.add_parser("serve", help="serve the gateway for a config")
    serve.add_argument("config", type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="processes sharing the port (default: the number of cores)")
    serve.add_argument("--allow-degraded", action="store_true",
                       help="start even when a source's mapping does not match it (that source is not ready) or "
                            "an identity model cannot be used (exact keys only, a warning in /readyz)")
    sql = commands.add_parser("sql", help="SQL over the unified model's tables (customers, purchases, …)")
    sql.add_argument("statement", nargs="?",
                     help='one SELECT, e.g. "SELECT channel, count(*) FROM purchases GROUP BY 1"')
    sql.add_argument("-f", "--file", type=Path, help="read the statement from this file instead")
    sql.add_argument("--format", choices=("table", "csv", "jsonl", "parquet"), default="table")
    sql.add_argument("--output", "-o", type=Path, help="write to this file (needed for parquet)")
    sql.add_argument("--bom", action="store_true", help="CSV with a UTF-8 byte-order mark, for spreadsheets")
    sql.add_argument("--max-rows", type=int, help="rows to return at most (default and cap: gateway.sql)")
    sql.add_argument("--timeout", type=float, help="seconds for fetching and running (default and cap: gateway.sql)")
    sql.add_argument("--tables", action="store_true", help="list your tables and their columns, then stop")
    sql.add_argument("--emit-trino", type=Path, metavar="DIR",
                     help="write Trino catalogs and views of the unified tables over --config's SQL sources "
                          "into DIR, say what stays in Onepane, then stop (docs/analysts.md)")
    sql.add_argument("--url", help="a running gateway's /sql (default http://127.0.0.1:8000/sql; "
                                   "API key from ONEPANE_API_KEY)")
    sql.add_argument("--config", type=Path, help="run the gateway in this process over this config instead "
                                                 "(credentials from ONEPANE_API_KEY or ONEPANE_TOKEN)")
    check = commands.add_parser("check", help="validate a config and probe each source")
    check.add_argument("config", type=Path)
    check.add_argument("--roles", action="store_true", help="also print, per role, what it reads, masks and is denied")
    indexes = commands.add_parser("indexes", help="print the indexes each source needs for its lookups (runs nothing)")
    indexes.add_argument("config", type=Path)
    indexes.add_argument("--all", action="store_true",
                         help="one index for every lookup, not only those that would scan a large table")
    query = commands.add_parser("query", help="run a .graphql file and print JSON, CSV or a table")
    query.add_argument("file", type=Path)
    query.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a variable (JSON or text)")
    query.add_argument("--format", choices=("json", "csv", "table"), default="table")
    query.add_argument("--url", help="a running gateway (default http://127.0.0.1:8000/graphql; "
                                     "API key from ONEPANE_API_KEY)")
    query.add_argument("--config", type=Path, help="run the gateway in this process over this config instead")
    query.add_argument("--role", help="with --config: the role whose policy applies")
    query.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    schema = commands.add_parser("schema", help="print the GraphQL SDL (of the built-in model, or a config's)")
    schema.add_argument("config", type=Path, nargs="?")
    identity = commands.add_parser("identity", help="train the probabilistic identity model")
    identity_commands = identity.add_subparsers(dest="identity_command", required=True)
    train = identity_commands.add_parser(
        "train", help="sample every source, train the entity's identity rules, write the model file")
    train.add_argument("config", type=Path)
    train.add_argument("--entity", default="Customer")
    train.add_argument("--sample", type=int, default=5000, help="records read per source (default 5000)")
    train.add_argument("--random-pairs", type=int, default=100_000, help="random pairs for u (default 100000)")
    train.add_argument("--out", type=Path, help="write here instead of the config's identity.model")
    splink = identity_commands
    exporter = splink.add_parser("export-splink", help="write the entity's trained model as Splink settings JSON")
    exporter.add_argument("config", type=Path)
    exporter.add_argument("--entity", default="Customer")
    exporter.add_argument("--rule", help="the rule to export (default: the only one)")
    exporter.add_argument("--out", type=Path, required=True, help="the Splink JSON file to write")
    importer = splink.add_parser("import-splink", help="read a Splink model JSON into Onepane's model file")
    importer.add_argument("config", type=Path)
    importer.add_argument("splink", type=Path, help="Splink's saved model (linker.misc.save_model_to_json)")
    importer.add_argument("--entity", default="Customer")
    importer.add_argument("--out", type=Path, help="write here instead of the config's identity.model")
    _import_parser(commands)
    scaffold = commands.add_parser("new-connector", help="write a connector package skeleton that passes the "
                                                         "conformance kit (docs/connectors/writing.md)")
    scaffold.add_argument("name", help="the connector type a config names, e.g. zendesk")
    scaffold.add_argument("--dir", type=Path, default=Path("."), help="where to write onepane-NAME/ (default: here)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(_run(args) or 0)
    except ConfigError as exc:
        console.print(f"[red]config error[/red] ({len(exc.problems)} problem(s)):")
        for problem in exc.problems:
            console.print(f"  - {problem}", markup=False, highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


def _import_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # KIND is free text, not a fixed list: a third-party connector may offer its own (docs/onboarding.md).
    draft = commands.add_parser(
        "import", help="print a draft source block mapping a database or API onto the model (docs/onboarding.md)",
        description="`federation import sql URL` reflects a database's tables and samples their rows; "
                    "`federation import openapi FILE_OR_URL` reads an OpenAPI description's GET endpoints.")
    draft.add_argument("kind", metavar="KIND", help="sql, openapi, or a kind a third-party connector offers")
    draft.add_argument("target", metavar="TARGET", help="a database URL (a password is never printed), "
                                                        "an OpenAPI file or URL")
    draft.add_argument("--schema", help="sql: the schema to read (default: the connection's)")
    draft.add_argument("--tables", nargs="+", default=(), help="sql: only these tables")
    draft.add_argument("--name", help="the source's name in the config (default: from the database or API)")
    draft.add_argument("--model", type=Path, help="a config whose model to map onto (default: the built-in)")
    draft.add_argument("--region", help="the country phone numbers without a country code are in (e.g. US)")
    draft.add_argument("--currency", help="the ISO 4217 currency amounts are in (default: a TODO)")
    draft.add_argument("--sample", type=int, default=300, help="rows read per table at most (default 300)")
    draft.add_argument("--timeout", type=float, default=10.0, help="seconds per connection, statement or download")


def _import(args: argparse.Namespace) -> int:
    from federation.importing import main_import

    logging.getLogger().setLevel(logging.ERROR)  # one line on failure: the connectors' own warnings stay quiet
    model = load_model(args.model) if args.model else None
    return main_import(args.kind, args.target, model, name=args.name, schema=args.schema, tables=tuple(args.tables),
                       sample_rows=args.sample, timeout=args.timeout, region=args.region, currency=args.currency)


def _run(args: argparse.Namespace) -> int | None:
    if args.command == "import":
        return _import(args)
    if args.command == "schema":
        from federation.api.schema import print_sdl
        from federation.model import builtin_model

        model = load_model(args.config) if args.config else builtin_model()  # needs no source secrets
        sys.stdout.write(print_sdl(model))
        return 0
    if args.command == "sql" and args.emit_trino is not None:
        from federation.analyst.trino_cli import main_emit_trino

        return main_emit_trino(args.config, args.emit_trino)
    if args.command == "sql":
        from federation.analyst.sql_cli import main_sql

        return main_sql(args.statement, args.file, args.config, args.url, args.format, args.output, args.bom,
                        args.max_rows, args.timeout, args.tables)
    if args.command == "query":
        from federation.analyst.query import main_query

        return main_query(args.file, args.var, args.format, args.url, args.config, args.role, args.output)
    if args.command == "identity" and args.identity_command != "train":
        return _splink(args)
    if args.command == "identity":
        return asyncio.run(_train(args))
    if args.command == "new-connector":
        return _new_connector(args.name, args.dir)
    if args.command == "check":
        if args.roles:
            _print_roles(args.config)
        return asyncio.run(_check(args.config))
    if args.command == "indexes":
        return asyncio.run(_indexes(args.config, None if args.all else SCAN_ROWS))
    if args.command == "serve":
        from federation.workers import serve, serve_workers

        if args.allow_degraded:  # an unusable identity model: exact keys only and a warning in /readyz
            os.environ[IDENTITY_DEGRADED_ENV] = "1"
        degraded = asyncio.run(_mapping_problems(args.config))
        if degraded:
            for problem in (p for ps in degraded.values() for p in ps):
                console.print(f"[red]mapping problem[/red] {problem}", highlight=False)
            if not args.allow_degraded:
                console.print(f"refusing to serve: {len(degraded)} source(s) do not match their mapping; fix the "
                              "config (`federation check`) or start with --allow-degraded", highlight=False)
                return 2
            # Workers are separate processes that inherit the environment (as ONEPANE_WORKER does).
            os.environ[DEGRADED_ENV] = orjson.dumps({n: "; ".join(ps) for n, ps in degraded.items()}).decode()
        console.print(f"GraphiQL: http://{args.host}:{args.port}/graphql")
        if args.workers > 1:
            return serve_workers(args.config, args.host, args.port, args.workers)
        serve(args.config, args.host, args.port)
        return 0
    from federation.demo.run import run_demo, run_demo_systems

    if args.build_only or args.systems_only:
        return run_demo_systems(args.dir, build_only=args.build_only)
    return run_demo(args.dir, args.host, args.port)


def _new_connector(name: str, parent: Path) -> int:
    from federation.scaffold import NewConnectorError, write_skeleton

    try:
        written = write_skeleton(name, parent)
    except NewConnectorError as exc:
        console.print(f"[red]new-connector[/red]: {escape(str(exc))}", highlight=False)
        return 2
    root = written[0].parent
    for path in written:
        print(path)
    console.print(f"wrote {root}: `cd {root} && pip install -e '.[test]' && pytest` runs the conformance kit",
                  markup=False, highlight=False)
    return 0


async def _train(args: argparse.Namespace) -> int:
    from federation.training import TrainingError, model_path, train_from_config

    config = load_config(args.config)
    if args.entity not in config.model.entities:
        console.print(f"no entity '{args.entity}' (valid: {', '.join(sorted(config.model.entities))})", markup=False)
        return 2
    out = args.out or model_path(config, args.entity)
    if out is None:
        console.print(f"{args.config}: model.entities.{args.entity}.identity has no `model: <file>`; add one "
                      "(the gateway reads it at start) or give --out", markup=False)
        return 2
    try:
        model = await train_from_config(config, args.entity, args.sample, args.random_pairs,
                                        lambda line: console.print(line, markup=False, highlight=False))
    except TrainingError as exc:
        console.print(f"[red]training failed[/red]: {escape(str(exc))}", highlight=False)
        return 1
    model.write(out)
    for name, rule in model.rules.items():
        console.print(f"rule {name}: prior {rule.prior:.3g} ({rule.prior_weight:+.2f} bits)", markup=False)
        for note in rule.notes:
            console.print(f"  note: {note}", markup=False)
    console.print(f"wrote {out}", markup=False)
    return 0


def _splink(args: argparse.Namespace) -> int:
    """`identity export-splink` / `import-splink`: Splink's model JSON out of and into Onepane's."""
    import json

    from federation.identity.fellegi import ModelError
    from federation.identity.model_file import load_model
    from federation.identity.splink import to_splink
    from federation.training import model_path, unloaded_gateway

    config = load_config(args.config)
    decl = config.model.entities.get(args.entity)
    if decl is None or decl.identity is None or not decl.identity.rules:
        console.print(f"{args.config}: model.entities.{args.entity} has no identity rules", markup=False)
        return 2
    sources = unloaded_gateway(config, args.entity).sources_for(args.entity)
    try:
        if args.identity_command == "import-splink":
            model = load_model(args.splink, args.entity, decl.identity, sources)
            out = args.out or model_path(config, args.entity)
            if out is None:
                console.print("give --out, or name the file in identity.model", markup=False)
                return 2
            model.write(out)
            console.print(f"wrote {out}", markup=False)
            return 0
        path = model_path(config, args.entity)
        if path is None:
            console.print(f"{args.config}: model.entities.{args.entity}.identity has no `model: <file>`", markup=False)
            return 2
        model = load_model(path, args.entity, decl.identity, sources)
        rules = list(model.rules)
        rule = args.rule or (rules[0] if len(rules) == 1 else None)
        if rule is None:
            console.print(f"--rule: the model has rules {', '.join(rules)}; name one", markup=False)
            return 2
        args.out.write_text(json.dumps(to_splink(model, rule), indent=2) + "\n", encoding="utf-8")
    except ModelError as exc:
        console.print(f"[red]model error[/red]: {escape(str(exc))}", highlight=False)
        return 2
    console.print(f"wrote {args.out}", markup=False)
    return 0


def _print_roles(path: Path) -> None:
    from federation.api.schema import build_schema
    from federation.security.report import role_tables

    config = load_config(path)
    if config.security is None:
        console.print("no security section: the gateway refuses every request")
        return
    schema = build_schema(config.model, config.security, config_file=str(config.file))
    for table in role_tables(schema._schema, frozenset(config.model.entities), config.security):
        Console().print(table)


async def _indexes(path: Path, min_rows: int | None) -> int:
    """Each source's index advice as SQL a DBA can read and run: by default only for lookups whose
    plan reads a whole table of more than `min_rows` rows; sources that need none say so."""
    gateway = Gateway.from_config(load_config(path))
    await gateway.start()
    try:
        advice = await asyncio.gather(*(c.index_advice(min_rows) for c in gateway.connectors.values()),
                                      return_exceptions=True)
    finally:
        await gateway.close()
    failed = 0
    for (name, connector), found in zip(gateway.connectors.items(), advice, strict=True):
        print(f"-- source '{name}' ({connector.kind})")
        if isinstance(found, BaseException):
            failed += 1
            console.print(f"[red]cannot advise[/red] source '{name}': {escape(str(found))}", highlight=False)
            continue
        print("\n".join(found) if found else "-- nothing to index: no lookup reads a whole table"
              + (f" of more than {min_rows:,} rows" if min_rows is not None else ""))
        print()
    return 1 if failed else 0


async def _mapping_problems(path: Path) -> dict[str, list[str]]:
    """Per source, what its live schema or endpoints say is wrong with its mapping (none: {}).

    A source that cannot be reached is not a mapping problem: the gateway serves without it and
    recovers when it comes back, so only what `verify` found on a source that answered counts.
    """
    gateway = Gateway.from_config(load_config(path))
    await gateway.start()
    try:
        found = await asyncio.gather(*(_verify_within(gateway, name) for name in gateway.connectors))
    finally:
        await gateway.close()
    return {name: [f"{path}: sources.{name}.{p}" for p in ps]
            for name, ps in zip(gateway.connectors, found, strict=True) if ps}


async def _verify_within(gateway: Gateway, name: str) -> list[str]:
    try:
        async with asyncio.timeout(gateway.timeouts[name]):
            return await gateway.connectors[name].verify()
    except Exception:  # unreachable or timed out: a health matter, reported by /readyz, not a mapping one
        return []


async def _slow_lookups(gateway: Gateway, name: str) -> list[str]:
    """The source's lookups that would scan a large table; none when it cannot tell (unreachable)."""
    try:
        return await gateway.connectors[name].slow_lookups(SCAN_ROWS)
    except Exception:  # an unreachable source is reported by the health column already
        return []


_KEY_LOOKUP = re.compile(r"^entities\.([^.]+)\.key:([^:@]+):")


def _unique_hint(gateway: Gateway, source: str, line: str, uniqueness: Sequence[Uniqueness]) -> str:
    """What `unique: true` changes for a slow lookup by a linking key (nothing for other lookups):
    identity no longer sends it for a record's own value; the sample says whether it may be true."""
    found = _KEY_LOOKUP.match(line)
    if found is None:
        return ""
    entity, key = found.groups()
    sampled = next((u for u in uniqueness if (u.entity, u.key, u.source) == (entity, key, source)), None)
    if sampled is None:
        return ""  # not a linking key: identity never sends it
    where = f"sources.{source}.entities.{entity}.keys.{key}"
    if sampled.declared:
        return (f"{where}: declared unique: true, so identity never sends the lookup above for a record's own "
                "value; only queries asking by it do")
    if sampled.may_be_unique:
        return (f"{where}: none of the {sampled.sampled} sampled records share a value; if no two ever do, "
                f"declare it, {key}: {{column: ..., unique: true}}, and identity never sends the lookup above for "
                "a record's own value (queries asking by it still do)")
    return ""


async def _check(path: Path) -> int:
    from federation.api.schema import build_schema

    config = load_config(path)
    build_schema(config.model, config.security, config_file=str(config.file))  # role rules name the schema's fields
    gateway = Gateway.from_config(config)
    await gateway.start()
    try:
        health = await gateway.health()
        found = await asyncio.gather(*(c.verify() for c in gateway.connectors.values()))
        samples = SourceSamples(gateway.connectors, gateway.timeouts)  # one read per source, for both probes
        collisions = await find_collisions(gateway.model, gateway.scopes, gateway.connectors, gateway.timeouts,
                                           samples=samples)
        slow = await asyncio.gather(*(_slow_lookups(gateway, n) for n in gateway.connectors))
        uniqueness = await sample_uniqueness(gateway.model, gateway.connectors, gateway.timeouts, samples=samples)
        warned_by = await asyncio.gather(*(c.warnings() for c in gateway.connectors.values()))
    finally:
        await gateway.close()
    problems = [f"{path}: sources.{name}.{p}" for name, ps in zip(gateway.connectors, found, strict=True)
                for p in ps]
    down = [name for name, h in health.items() if not h["ok"]]
    if problems:
        title = f"{path}: [red]{len(problems)} mapping problem(s)[/red]"
    elif down:
        title = f"{path}: configuration parses, but {len(down)} source(s) did not answer: {', '.join(down)}"
    else:
        title = f"{path}: configuration is valid"
    warned = sum(1 for c in collisions if c.warning)
    if warned:
        title += f"; {warned} key scope warning(s) below"
    table = Table(title=title)
    for column in ("source", "kind", "entities", "health", "ms"):
        table.add_column(column)
    for name, h in health.items():
        entities = ", ".join(sorted(gateway.capabilities[name].entities))
        status = "[green]ok[/green]" if h["ok"] else f"[red]down[/red] {h['detail']}"
        table.add_row(name, h["kind"], entities, status, str(h["ms"]))
    Console().print(table)
    for problem in problems:
        console.print(f"[red]mapping problem[/red] {problem}", highlight=False)
    for collision in (c for c in collisions if c.warning):
        console.print(f"[yellow]key scope warning[/yellow] {escape(collision.message())}", highlight=False)
    for collision in (c for c in collisions if c.note):
        console.print(f"key scope note {escape(collision.message())}", highlight=False)
    for sampled in (u for u in uniqueness if u.false):  # evidence, not proof: the exit code is unchanged
        console.print(f"[yellow]unique key warning[/yellow] {path}: {escape(sampled.message())}", highlight=False)
    for name, lines in zip(gateway.connectors, slow, strict=True):
        for line in lines:  # answered correctly, only slower: a warning, not a failed check
            console.print(f"[yellow]slow lookup[/yellow] {path}: sources.{name}.{escape(line)}", highlight=False,
                          emoji=False)
            if hint := _unique_hint(gateway, name, line, uniqueness):
                console.print(f"unique key note {path}: {escape(hint)}", highlight=False, emoji=False)
    for name, lines in zip(gateway.connectors, warned_by, strict=True):
        for line in lines:  # the source serves (rows it skipped, say): a warning, not a failed check
            console.print(f"[yellow]source warning[/yellow] {path}: sources.{name}.{escape(line)}", highlight=False,
                          emoji=False)
    return 0 if all(h["ok"] for h in health.values()) and not problems else 1
