"""`federation demo`: build the demo legacy systems, start the CRM, serve the gateway over them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aiohttp import web
from rich.console import Console

from federation.config import load_config
from federation.demo.crm import serve_crm
from federation.demo.data import build_demo
from federation.engine.gateway import Gateway
from federation.server import create_app

__all__ = ["CRM_PORT", "DemoHandle", "build_demo_folder", "run_demo", "run_demo_systems", "running_demo"]

# Where `--systems-only` serves the CRM: the default of ONEPANE_CRM_URL in demo.yaml.
CRM_PORT = 8701
CRM_DEFAULT_KEY = "onepane-demo-crm"  # demo.yaml's default for ONEPANE_CRM_API_KEY

EXAMPLES = ("story1_preorder", "story2_store_purchase", "story3_double_delivery",
            "story4_no_receipt", "story5_store_and_crm", "story6_warranties")


@dataclass(frozen=True, slots=True)
class DemoHandle:
    url: str
    folder: Path
    crm_url: str
    config: Path
    crm: web.AppRunner


def demo_config_text() -> str:
    """The demo's config, shipped in the package (config/demo.yaml in the repo points at it)."""
    return resources.files("federation.demo").joinpath("demo.yaml").read_text("utf-8")


@contextlib.asynccontextmanager
async def running_demo(folder: Path, host: str = "127.0.0.1", port: int = 0, crm_port: int = 0,
                       config_text: str | None = None) -> AsyncIterator[DemoHandle]:
    """Build the data, start the CRM and the gateway; stop both on exit (`config_text` replaces
    the demo config, e.g. to add security in tests)."""
    files = build_demo(folder)
    config_path = folder / "demo.yaml"
    config_path.write_text(config_text or demo_config_text(), "utf-8")
    api_key = secrets.token_urlsafe(18)
    crm_runner, bound_crm = await serve_crm(files.crm, api_key, host="127.0.0.1", port=crm_port)
    crm_url = f"http://127.0.0.1:{bound_crm}"
    env = {**os.environ, "ONEPANE_CRM_URL": crm_url, "ONEPANE_CRM_API_KEY": api_key}
    runner: web.AppRunner | None = None
    try:
        gateway = Gateway.from_config(load_config(config_path, env))
        runner = web.AppRunner(create_app(gateway), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        yield DemoHandle(f"http://{host}:{bound}/graphql", folder, crm_url, config_path, crm_runner)
    finally:
        if runner is not None:
            await runner.cleanup()
        await crm_runner.cleanup()


def build_demo_folder(folder: Path) -> Path:
    """The demo's data, its config and the story queries in `folder`; the config's path.

    Serving that config (`federation serve FOLDER/demo.yaml`) needs no variables: the CRM is
    expected where `run_demo_systems` starts it, and answers as down until it runs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    build_demo(folder)
    config = folder / "demo.yaml"
    config.write_text(demo_config_text(), "utf-8")
    _copy_examples(folder)
    return config


def run_demo_systems(folder: Path, build_only: bool) -> int:
    """Build the demo folder; unless `build_only`, serve the demo CRM until Ctrl-C."""
    console = Console(soft_wrap=True)
    config = build_demo_folder(folder.resolve())
    console.print(f"demo legacy systems built in {config.parent}")
    if build_only:
        console.print(f"serve the gateway over them with: federation serve {config}")
        console.print(f"(the CRM is not running: start it with `federation demo --systems-only --dir {folder}`)")
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_crm_forever(config.parent, console))
    return 0


async def _serve_crm_forever(folder: Path, console: Console) -> None:
    key = os.environ.get("ONEPANE_CRM_API_KEY", CRM_DEFAULT_KEY)
    runner, port = await serve_crm(folder / "crm.json", key, host="127.0.0.1", port=CRM_PORT)
    try:
        console.print(f"demo CRM at http://127.0.0.1:{port}; in another shell: "
                      f"[bold]federation serve {folder / 'demo.yaml'}[/bold]. Ctrl-C stops it.")
        await _until_stopped()
    finally:
        await runner.cleanup()


def run_demo(folder: Path, host: str, port: int) -> int:
    """Serve until Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(folder.resolve(), host, port))
    return 0


async def _serve_forever(folder: Path, host: str, port: int) -> None:
    console = Console(soft_wrap=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    async with running_demo(folder, host, port) as demo:
        examples = _copy_examples(folder)
        console.print(f"[bold]Onepane demo[/bold]: legacy systems in {folder}, CRM at {demo.crm_url}")
        console.print(f"GraphiQL: [bold]{demo.url}[/bold]")
        console.print(f"Agent console: [bold]{demo.url.removesuffix('/graphql')}/console/[/bold]")
        console.print("Example queries, one per story (paste into GraphiQL):")
        for path in examples:
            console.print(f"  {path}")
        console.print("Ctrl-C stops everything.")
        await _until_stopped()


async def _until_stopped() -> None:
    """Wait for Ctrl-C or SIGTERM, handled explicitly: a shell may start us with SIGINT ignored."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _copy_examples(folder: Path) -> list[Path]:
    target = folder / "queries"
    target.mkdir(exist_ok=True)
    out = []
    for name in EXAMPLES:
        source = resources.files("federation.demo").joinpath(f"queries/{name}.graphql")
        path = target / f"{name}.graphql"
        path.write_text(source.read_text("utf-8"), "utf-8")
        out.append(path)
    return out


__all__ += ["demo_config_text"]
