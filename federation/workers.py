"""`federation serve --workers N`: N processes accept on one port (SO_REUSEPORT).

Each worker builds its own Gateway (connector pools, breakers, in-process cache and rate-limit
buckets are per process, as they must be); the Redis cache level is shared when configured.
Metrics from all workers are summed through prometheus multiprocess mode.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from aiohttp import web

from federation.config import load_config
from federation.engine.gateway import Gateway, degraded_from_env

__all__ = ["serve", "serve_workers"]

log = logging.getLogger("federation.workers")


def serve(config_path: Path, host: str, port: int, reuse_port: bool = False) -> None:
    """Serve one gateway process until SIGINT/SIGTERM."""
    from federation.ops.tracing import configure_tracing
    from federation.server import create_app

    config = load_config(config_path)
    configure_tracing(config.gateway.tracing_otlp_endpoint)
    gateway = Gateway.from_config(config)
    gateway.degraded = degraded_from_env()
    app = create_app(gateway)
    _tune_gc()
    web.run_app(app, host=host, port=port, reuse_port=reuse_port, print=None, access_log=None,
                loop=_event_loop())


def _tune_gc() -> None:
    """Fewer, cheaper cyclic collections for a server that allocates in bursts per request.

    What exists at start (modules, the schema, compiled plans to come are few) is frozen out of
    every collection; the youngest generation is collected every 20,000 allocations instead of
    700, since a request's records, units and answers are acyclic and freed by reference counting
    when it ends — the collector only ever finds the rare cycle, and scanning the caches of shared
    units for it on every few hundred allocations cost ~10 % of the benchmark's time (py-spy).
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(20_000, second, third)


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (`pip install onepane[speed]`) unless ONEPANE_LOOP=asyncio."""
    if os.environ.get("ONEPANE_LOOP") == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()  # typed here: uvloop is an optional extra
    return loop


def _worker(config_path: str, host: str, port: int, number: int, parent: int) -> None:
    os.environ["ONEPANE_WORKER"] = str(number)
    _stop_with(parent)
    logging.basicConfig(level=logging.INFO, format=f"%(levelname)s worker {os.getpid()} %(name)s: %(message)s")
    serve(Path(config_path), host, port, reuse_port=True)


def _stop_with(parent: int) -> None:
    """Stop this worker (gracefully, as on SIGTERM) once its parent is gone: a parent killed
    without passing the signal on (SIGKILL, an OOM kill, a signal before its handlers were set)
    must not leave workers serving the port on their own."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        log.warning("worker %d: the parent process %d is gone; stopping", os.getpid(), parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve_workers(config_path: Path, host: str, port: int, workers: int) -> int:
    """Start `workers` processes on one port and stop them all on SIGINT/SIGTERM."""
    if port == 0:
        raise ValueError("--workers needs a fixed --port: each worker would bind its own random port")
    from federation.api.schema import build_schema

    config = load_config(config_path)  # fail here, once, with the config's errors, before forking
    build_schema(config.model, config.security, config_file=str(config.file))  # and its role rules' typos
    metrics_dir = tempfile.mkdtemp(prefix="onepane-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(str(config_path), host, port, n + 1, os.getpid()),
                                 daemon=False) for n in range(workers)]
    for process in processes:
        process.start()
    log.info("started %d workers on %s:%d (pids %s)", workers, host, port, ", ".join(str(p.pid) for p in processes))

    def stop(signum: int, frame: FrameType | None) -> None:
        for process in processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    codes = []
    for process in processes:
        process.join()
        codes.append(process.exitcode or 0)
    failed = [c for c in codes if c not in (0, -signal.SIGTERM)]
    if failed:
        print(f"{len(failed)} worker(s) failed", file=sys.stderr)
    return 1 if failed else 0
