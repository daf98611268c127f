"""Resident memory of one gateway worker under the peer benchmark's load, start to end of a long run.

Starts the graphql-benchmarks upstream (nginx, `../shared/bench/upstream/start.sh`) and
`federation serve benchmarks/peers/onepane/onepane.yaml --workers 1` on loopback, checks the
nested query's answer against the upstream data, warms up (20 s: the bounded caches of shared
views fill), then keeps wrk at 100 connections on `{posts{id,userId,title,user{id,name,email}}}`
for `--seconds` (default 60) while reading the
worker's RSS from /proc every second. Prints the RSS at the start and end of the run, its peak,
the slope of a straight line through the samples, and the load's req/s.

Exits non-zero, printing no number, when the upstream, the gateway or wrk cannot start or the
answer is wrong. Run: `python benchmarks/memory.py [--seconds 60]` (not in CI; needs nginx, wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from machine import git_commit, machine_line, versions

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_SCRIPT = ROOT.parent / "shared" / "bench" / "upstream" / "start.sh"
QUERY = "{posts{id,userId,title,user{id,name,email}}}"
BODY = json.dumps({"operationName": None, "variables": {}, "query": QUERY})
WRK_SCRIPT = ('wrk.method = "POST"\nwrk.body = os.getenv("BENCH_BODY")\n'
              'wrk.headers["Content-Type"] = "application/json"\n')


def fail(message: str) -> None:
    print(f"memory benchmark: {message}", file=sys.stderr)
    raise SystemExit(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, body: bytes | None, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        try:
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            if time.monotonic() > deadline:
                fail(f"{url} did not answer within {seconds:.0f} s")
            time.sleep(0.2)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    if found is None:
        fail(f"no VmRSS for process {pid}")
    return int(found.group(1)) / 1024 if found else 0.0


def expected(www: Path) -> dict[str, object]:
    posts = json.loads((www / "posts.json").read_text())
    users = {u["id"]: u for u in json.loads((www / "users.json").read_text())}
    return {"data": {"posts": [
        {"id": p["id"], "userId": p["userId"], "title": p["title"],
         "user": {k: users[p["userId"]][k] for k in ("id", "name", "email")}} for p in posts]}}


def slope_per_minute(samples: list[float]) -> float:
    xs = range(len(samples))
    mx, my = statistics.mean(xs), statistics.mean(samples)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, samples, strict=True)) / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20,
                        help="seconds of load before measuring: the bounded caches of shared views fill first")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        fail("needs wrk and nginx on PATH (Debian packages wrk, nginx)")
    if not UPSTREAM_SCRIPT.exists():
        fail(f"needs the benchmark upstream at {UPSTREAM_SCRIPT}")
    work = Path(tempfile.mkdtemp(prefix="onepane-memory-"))
    up_port, gw_port = free_port(), free_port()
    env = {**os.environ, "UPSTREAM_PORT": str(up_port), "UPSTREAM_DIR": str(work / "upstream")}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(["bash", str(UPSTREAM_SCRIPT)], env=env, start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(f"http://127.0.0.1:{up_port}/users/1", None, 20)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "federation", "serve", str(ROOT / "benchmarks/peers/onepane/onepane.yaml"),
             "--host", "127.0.0.1", "--port", str(gw_port), "--workers", "1"],
            env={**os.environ, "UPSTREAM": f"http://127.0.0.1:{up_port}"}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(gateway)
        url = f"http://127.0.0.1:{gw_port}/graphql"
        answer = json.loads(wait_for(url, BODY.encode(), 30))
        if answer != expected(work / "upstream" / "www"):
            fail("the gateway's answer differs from the upstream's data")
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)
        wrk_env = {**os.environ, "BENCH_BODY": BODY}
        subprocess.run(["wrk", "-t1", "-c100", f"-d{args.warmup}s", "-s", str(script), url], env=wrk_env,
                       check=True, capture_output=True)
        load = subprocess.Popen(["wrk", "-t1", "-c100", f"-d{args.seconds}s", "-s", str(script), url],
                                env=wrk_env, stdout=subprocess.PIPE, text=True)
        samples: list[float] = []
        while load.poll() is None:
            samples.append(rss_mb(gateway.pid))
            time.sleep(1)
        out = load.stdout.read() if load.stdout else ""
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if load.returncode != 0 or rate is None or len(samples) < 3:
            fail(f"wrk failed: {out.strip()[-300:]}")
        if json.loads(wait_for(url, BODY.encode(), 5)) != expected(work / "upstream" / "www"):
            fail("the answer after the load differs from the upstream's data")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    assert rate is not None
    verdict = "met" if max(samples) <= 200 and samples[-1] <= samples[0] * 1.1 else "missed"
    text = "\n".join([
        "# Memory of one worker under load (`benchmarks/memory.py`)", "",
        machine_line(), "- " + versions(["strawberry-graphql", "aiohttp", "orjson"]), f"- Onepane at {git_commit()}",
        "", f"wrk -t1 -c100 -d{args.seconds}s on `{QUERY}` (after a {args.warmup} s warm-up), "
        "RSS sampled every second:", "",
        f"- RSS at start {samples[0]:.0f} MB, at end {samples[-1]:.0f} MB, peak {max(samples):.0f} MB "
        f"({len(samples)} samples); trend {slope_per_minute(samples):+.1f} MB per minute",
        "- every 10 s: " + ", ".join(f"{mb:.0f}" for mb in samples[::10]) + " MB",
        f"- load: {float(rate.group(1)):,.0f} req/s", "",
        f"Target (issue 11): at most 200 MB and flat (end within 10 % of start): **{verdict}**", "",
    ])
    print(text)
    if args.out:
        args.out.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
