"""`federation sql --emit-trino DIR --config CONFIG`: the Trino catalogs and views, written to DIR."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from federation.analyst.trino import emit_trino
from federation.errors import ConfigError

__all__ = ["main_emit_trino"]


def main_emit_trino(config_path: Path | None, folder: Path) -> int:
    """Exit 0 when written, 2 when the config cannot be read or nothing is reachable by Trino."""
    from federation.api.schema import build_schema
    from federation.config import load_config
    from federation.engine.gateway import Gateway

    err = Console(stderr=True, soft_wrap=True)
    if config_path is None:
        err.print("[red]--emit-trino needs --config CONFIG: the sources to write Trino catalogs for[/red]")
        return 2
    try:
        config = load_config(config_path)
        gateway = Gateway.from_config(config)  # not started: nothing is connected or read
        schema = build_schema(config.model, config.security, config_file=str(config.file))
    except ConfigError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        return 2
    emission = emit_trino(schema._schema, config.model, gateway.connectors, gateway.scopes)
    if not emission.catalogs:
        err.print("[red]no source of this config is reachable by Trino; nothing written[/red]")
        for note in emission.kept:
            err.print(f"  {escape(note)}", highlight=False)
        return 2
    try:
        written = emission.write(folder)
    except OSError as exc:
        err.print(f"[red]cannot write {escape(str(folder))}: {escape(exc.strerror or str(exc))}[/red]")
        return 2
    for path in written:
        err.print(f"wrote {escape(str(path))}", highlight=False)
    err.print(f"{len(emission.views)} views over {len(emission.catalogs)} catalogs. Stays in Onepane:", highlight=False)
    for note in emission.kept:
        err.print(f"  {escape(note)}", highlight=False)
    return 0
