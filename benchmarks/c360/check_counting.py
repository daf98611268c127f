#!/usr/bin/env python3
"""Proof that this copy's answer check counts: wrk with load.lua, exactly as run.py drives it,
against a tiny aiohttp server that answers every request 501. Every answer must be counted bad
(the shared harness's load.lua reports 0 here: its done() runs in a Lua state of its own).

    check_counting.py [--duration 3]    (needs wrk, taskset; exits 1 unless bad == requests > 0)
"""

import argparse
import importlib.util
import socket
import sys
import threading
from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=3)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("c360_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)

    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"data": None}, status=501)

    app = web.Application()
    app.router.add_post("/graphql", refuse)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    threading.Thread(
        target=lambda: web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=False), daemon=True
    ).start()
    import time

    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    found = run.wrk(port, 10, a.duration)
    print(f"501 server: {found['bad']:,} of {found['requests']:,} answers counted bad ({found['rps']:,.0f} req/s)")
    sys.exit(0 if found["requests"] > 0 and found["bad"] == found["requests"] else 1)


if __name__ == "__main__":
    main()
