"""`federation serve --workers N` under c360-style load: throughput, balance and memory per worker.

The databases, emails and config of `benchmarks/execution.py` (two PostgreSQL databases shaped
like c360's shop and POS, mapped by the c360 peer's config). For each worker count asked, the
gateway runs as `federation serve CONFIG --workers N` on loopback; wrk sends the c360 document
for a random customer per request (emails as people type them) at `--connections`, after a
warm-up. Every second each worker's RSS and CPU time are read from /proc: the report gives
req/s, each worker's share of the gateway's CPU time (SO_REUSEPORT spreads connections, not
requests, so a share far from 1/N means idle cores), and each worker's memory: RSS idle (started,
one answer given), after the warm-up (the measured run's start), at the end and its peak, the
trend over the measured run and the slope over its last `--window` seconds (issue 19: at most
200 MB, flat). wrk counts every non-200 answer and every answer holding "errors"; a run with any
is reported as failed, without figures.

`--databases c360 --reuse --customers 100000` serves the c360 workload's own databases
(`c360_shop`, `c360_pos`, ../shared/bench/c360) as they are: their emails are the same
`customerN@example.com`. `--trees A B` runs the gateway from each source tree in turn (its
`PYTHONPATH`), `--rounds` times, alternating: a before/after in one run.

Run: `python benchmarks/c360_workers.py [--workers 1 2] [--seconds 60] [--warmup 5] [--window 60]
[--reuse] [--advised-indexes] [--trees DIR ...] [--rounds 1]`. The machine's load average is
printed: with 2 cores and wrk on the same machine, the 2-worker figure is what the machine
allows, not what two free cores would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson
from execution import QUERY, advise_indexes, config, postgres_sources, rows
from machine import git_commit, machine_line, versions

_TICKS = os.sysconf("SC_CLK_TCK")

LUA = """
local emails = {}
for line in io.lines(os.getenv("EMAILS")) do emails[#emails + 1] = line end
local query = os.getenv("QUERY")
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) bad = 0; errs = 0; math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000) end
request = function()
  local email = emails[math.random(1, #emails)]
  local body = '{"query":"' .. query .. '","variables":{"e":"' .. email .. '"}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  local at = body:find('"errors"', 1, true)
  if status ~= 200 then bad = bad + 1 elseif at then errs = errs + 1 else return end
  if bad + errs <= 3 then io.write("bad answer: ", status, " ", body:sub(at or 1, (at or 1) + 300), "\\n") end
end
done = function(summary, latency, requests)
  local b, e = 0, 0
  for _, thread in ipairs(threads) do b = b + thread:get("bad"); e = e + thread:get("errs") end
  io.write(string.format("c360-check: non200=%d errors=%d\\n", b, e))
  io.write(string.format("latency: p50=%.1f p99=%.1f\\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def fail(message: str) -> None:
    print(f"c360 workers benchmark: {message}", file=sys.stderr)
    raise SystemExit(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask(url: str, email: str) -> dict[str, object]:
    body = orjson.dumps({"query": QUERY, "variables": {"e": email}})
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = orjson.loads(response.read())
        return answer


def children(parent: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and b"resource_tracker" not in (stat.parent / "cmdline").read_bytes():
            out.append(int(stat.parent.name))  # a worker (multiprocessing's resource tracker is not one)
    return sorted(out)


def rss_mb(pid: int) -> float:
    found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def slope_per_minute(samples: list[float]) -> float:
    """MB per minute of a straight line through one sample a second (least squares)."""
    xs = range(len(samples))
    mx, my = statistics.mean(xs), statistics.mean(samples)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, samples, strict=True)) / var if var else 0.0


def tree_commit(tree: Path) -> str:
    """`git describe --always --dirty` of a source tree, or "unknown"."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=tree, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(config_path: Path, emails_file: Path, emails: list[str], workers: int, connections: int,
        seconds: int, warmup: int, window: int, tree: Path | None = None) -> list[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree is not None else None
    gateway = subprocess.Popen([sys.executable, "-m", "federation", "serve", str(config_path), "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(workers)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = ask(url, emails[0])
                break
            except OSError:
                if time.monotonic() > deadline or gateway.poll() is not None:
                    fail("the gateway did not start")
                time.sleep(0.3)
        if "errors" in answer or not answer.get("data"):
            fail(f"the first answer is not data: {str(answer)[:200]}")
        pids = children(gateway.pid) if workers > 1 else [gateway.pid]  # one worker serves in-process
        if len(pids) != workers:
            fail(f"expected {workers} worker processes, found {pids}")
        idle = {p: rss_mb(p) for p in pids}
        script = emails_file.parent / "c360.lua"
        script.write_text(LUA)
        load_env = {**os.environ, "EMAILS": str(emails_file), "QUERY": QUERY.replace('"', '\\"')}
        wrk = ["wrk", "-t2", f"-c{connections}", "-s", str(script), url]
        subprocess.run([*wrk[:3], f"-d{warmup}s", *wrk[3:]], env=load_env, check=True, capture_output=True)
        cpu0 = {p: cpu_seconds(p) for p in pids}
        load = subprocess.Popen([*wrk[:3], f"-d{seconds}s", *wrk[3:]], env=load_env, stdout=subprocess.PIPE,
                                text=True)
        rss: dict[int, list[float]] = {p: [] for p in pids}
        while load.poll() is None:
            for p in pids:
                rss[p].append(rss_mb(p))
            time.sleep(1)
        out = load.stdout.read() if load.stdout else ""
        cpu = {p: cpu_seconds(p) - cpu0[p] for p in pids}
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        check = re.search(r"c360-check: non200=(\d+) errors=(\d+)", out)
        latency = re.search(r"latency: p50=([\d.]+) p99=([\d.]+)", out)
        if load.returncode != 0 or rate is None or check is None or latency is None:
            fail(f"wrk failed: {out.strip()[-300:]}")
        assert rate is not None and check is not None and latency is not None
        if int(check.group(1)) or int(check.group(2)):
            shown = "\n".join(line for line in out.splitlines() if line.startswith("bad answer: "))
            fail(f"{workers} worker(s): {check.group(1)} non-200 and {check.group(2)} error answers; no figures; "
                 f"the first (per wrk thread):\n{shown}")
    finally:
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGTERM)
            gateway.wait(timeout=20)
    total = sum(cpu.values()) or 1.0
    source = f" from {tree} ({tree_commit(tree)})" if tree is not None else ""
    lines = [f"- {workers} worker(s){source}: **{float(rate.group(1)):,.0f} req/s**, p50 {latency.group(1)} ms, "
             f"p99 {latency.group(2)} ms, 0 bad answers; gateway CPU {total / seconds:.2f} cores "
             f"({total / seconds / (os.cpu_count() or 1):.0%} of the machine), load average after "
             f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"]
    for n, p in enumerate(pids, 1):
        samples = rss[p]
        last = samples[-window:]
        lines.append(f"  - worker {n}: {cpu[p] / total:.0%} of the gateway's CPU time; RSS idle {idle[p]:.1f} MB, "
                     f"after the warm-up {samples[0]:.1f} MB, end {samples[-1]:.1f} MB, peak {max(samples):.1f} MB; "
                     f"trend {slope_per_minute(samples):+.2f} MB/min over the run ({len(samples)} samples), "
                     f"{slope_per_minute(last):+.2f} MB/min over its last {len(last)} s")
    lines.append(f"RATE {workers} {float(rate.group(1))}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--window", type=int, default=60, help="seconds at the end of the run the slope is taken over")
    parser.add_argument("--trees", type=Path, nargs="+",
                        help="source trees to serve from, in turn (PYTHONPATH); default: the installed federation")
    parser.add_argument("--rounds", type=int, default=1, help="times each tree runs, alternating")
    parser.add_argument("--postgres", default="postgres@127.0.0.1:5432")
    parser.add_argument("--databases", default="onepane_execution", help="prefix of the two databases' names")
    parser.add_argument("--reuse", action="store_true", help="keep the databases an earlier run created")
    parser.add_argument("--advised-indexes", action="store_true",
                        help="add the indexes `federation indexes` advises to the benchmark's databases")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.databases == "c360" and (not args.reuse or args.advised_indexes):
        fail("the c360 workload's databases are served as they are: --reuse, never rebuilt or given indexes")
    tables, emails = rows(args.customers)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.reuse:
            urls = {n: f"postgresql+asyncpg://{args.postgres}/{args.databases}_{n}" for n in ("shop", "pos")}
        else:
            urls = asyncio.run(postgres_sources(args.postgres, tables, args.databases))
        advice = asyncio.run(advise_indexes(folder, urls)) if args.advised_indexes else []
        emails_file = folder / "emails.txt"
        emails_file.write_text("\n".join(emails) + "\n", "utf-8")
        path = config(folder, urls)
        before = os.getloadavg()
        trees: list[Path | None] = list(args.trees) if args.trees else [None]
        results = [line for _ in range(args.rounds) for tree in trees for n in args.workers
                   for line in run(path, emails_file, emails, n, args.connections, args.seconds, args.warmup,
                                   args.window, tree)]
    rates = {int(line.split()[1]): float(line.split()[2]) for line in results if line.startswith("RATE")}
    # (with several trees or rounds the last run of each worker count is compared)
    lines = [
        f"c360 under `federation serve --workers N` ({args.customers} customers, PostgreSQL"
        f"{', advised indexes: ' + str(len(advice)) if args.advised_indexes else ''}; wrk -t2 "
        f"-c{args.connections}, {args.seconds} s after {args.warmup} s warm-up, on the same machine):",
        machine_line(),
        f"- {versions(['aiohttp', 'strawberry-graphql', 'sqlalchemy', 'asyncpg'])}; commit {git_commit()}; "
        f"load average before {' '.join(f'{x:.1f}' for x in before)}",
        *(line for line in results if not line.startswith("RATE")),
    ]
    if 1 in rates and 2 in rates:
        lines.append(f"- 2 workers / 1 worker: **{rates[2] / rates[1]:.2f} times**")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
