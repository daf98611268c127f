#!/usr/bin/env python3
"""Customer-360 workload: distinct customers across two legacy databases, side by side.

    run.py [--rounds 3] [--duration 8] [--connections 50] PEER_DIR...

Each peer directory has an executable start.sh serving POST http://127.0.0.1:$PORT/graphql
over the databases named by $SHOP_DSN and $POS_DSN (see README.md). The bound peer
(bound/) is always measured. Peers are checked against the bound on 40 customers before
any load; load alternates between peers round by round (wrk, one new customer per request),
then a one-connection probe. The peer runs on CPU 1, wrk on CPU 0 (2-core machines).

A copy of ../shared/bench/c360/run.py whose load.lua really counts bad answers (README.md here):
the bound peer and setup.py are the shared harness's, found in a `shared/bench/c360` folder
above this repository (or $C360_HARNESS). Exits 1 when any peer's answers differ from the bound's
or when any answer under load is bad (not 200, or carrying `errors`): never report such a run.
"""

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _harness() -> Path:
    """The shared harness (the bound peer, setup.py): $C360_HARNESS, else `shared/bench/c360` in
    the nearest folder above this repository that has one."""
    if os.environ.get("C360_HARNESS"):
        return Path(os.environ["C360_HARNESS"]).resolve()
    for folder in HERE.parents:
        if (folder / "shared" / "bench" / "c360" / "bound").is_dir():
            return folder / "shared" / "bench" / "c360"
    sys.exit("c360: the shared harness (shared/bench/c360 with bound/ and setup.py) was not found; set C360_HARNESS")


SHARED = _harness()
Q = "query C($e: String!) { customers(email: $e) { name purchases { orderNumber total { amount } placedAt } } }"
PG = os.environ.get("C360_PG", "postgresql://postgres@127.0.0.1:5432/postgres").rsplit("/", 1)[0]
# Copies of the two databases (`CREATE DATABASE x TEMPLATE c360_shop`, with an index added, say)
# are measured by naming them; setup.py still checks the originals.
ENV = {"SHOP_DSN": PG + "/" + os.environ.get("C360_SHOP_DB", "c360_shop"),
       "POS_DSN": PG + "/" + os.environ.get("C360_POS_DB", "c360_pos")}
PEER_CPUS, LOAD_CPUS = os.environ.get("BENCH_PEER_CPUS", "1"), os.environ.get("BENCH_LOAD_CPUS", "0")


def ask(port, email, timeout=30):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        json.dumps({"query": Q, "variables": {"e": email}}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def shape(doc):
    """What must agree: per customer, the purchases as (orderNumber, amount) newest first."""
    if doc.get("errors"):
        return ("errors", json.dumps(doc["errors"])[:200])
    return [
        [(p["orderNumber"], f"{float(p['total']['amount']):.2f}") for p in c["purchases"]]
        for c in doc["data"]["customers"]
    ]


def start(peer: Path, port: int, work: Path):
    log = open(work / f"{peer.name}.log", "w")  # noqa: SIM115 - the peer writes to it until stopped
    env = {**os.environ, **ENV, "PORT": str(port), "PEER_WORKDIR": str(work)}
    p = subprocess.Popen(
        ["taskset", "-c", PEER_CPUS, str(peer / "start.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + float(os.environ.get("BENCH_START_TIMEOUT", 600))
    while time.time() < deadline:
        if p.poll() is not None:
            sys.exit(f"{peer.name} exited: see {log.name}")
        try:
            ask(port, "customer1@example.com", timeout=5)
            return p
        except Exception:
            time.sleep(0.5)
    sys.exit(f"{peer.name} did not answer in time: see {log.name}")


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
    except Exception:
        os.killpg(p.pid, signal.SIGKILL)


def settle(limit=60.0):
    """Wait until neither database runs a statement: a slow peer leaves statements queued in
    PostgreSQL when its wrk run ends, which would otherwise load the next peer's round."""
    names = ", ".join(f"'{dsn.rsplit('/', 1)[1]}'" for dsn in ENV.values())
    query = f"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname IN ({names})"
    deadline = time.time() + limit
    while time.time() < deadline:
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-d", PG + "/postgres", "-c", query],
                             capture_output=True, text=True)
        if out.returncode or out.stdout.strip() == "0":
            return
        time.sleep(0.2)


def cpu_seconds(group):
    """CPU time (user + system) of the live processes in one process group: a peer and its workers."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def wrk(port, connections, duration, group=None):
    settle()
    cpu = cpu_seconds(group) if group is not None else 0.0
    out = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CPUS,
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(HERE / "load.lua"),
            f"http://127.0.0.1:{port}/graphql",
        ],
        capture_output=True,
        text=True,
    ).stdout

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        return None if not m else float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    check = re.search(r"non200=(\d+) errors=(\d+) requests=(\d+)", out)
    if check is None:
        sys.exit(f"c360: wrk printed no answer check:\n{out}")
    requests = int(check.group(3))
    used = cpu_seconds(group) - cpu if group is not None else 0.0
    return {
        "rps": rps,
        "p50": ms(" 50"),
        "p99": ms(" 99"),
        "bad": int(check.group(1)) + int(check.group(2)),
        "requests": requests,
        "cpu_ms": used * 1000 / requests if requests else None,  # the peer's CPU per answer
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("peers", nargs="*")
    a = ap.parse_args()
    subprocess.run([sys.executable, str(SHARED / "setup.py")], check=True)
    bound_dir = SHARED / "bound"
    peers = [bound_dir] + [Path(p).resolve() for p in a.peers]
    work = Path(tempfile.mkdtemp(prefix="c360-"))
    procs, ports = {}, {}
    try:
        for i, peer in enumerate(peers):
            name = "bound" if peer == bound_dir else peer.name
            ports[name] = 8300 + i
            procs[name] = start(peer, ports[name], work)
        rng = random.Random(7)
        sample = [f" Customer{rng.randint(1, 100000)}@Example.COM " for _ in range(40)] + ["nobody@example.com"]
        ref = {e: shape(ask(ports["bound"], e)) for e in sample}
        wrong = {}
        for name in list(ports)[1:]:
            diffs = [e for e in sample if shape(ask(ports[name], e)) != ref[e]]
            if diffs:
                wrong[name] = (
                    f"{len(diffs)}/{len(sample)} differ, e.g. {diffs[0]!r}: {shape(ask(ports[name], diffs[0]))!s:.200}"
                )
        for name, why in wrong.items():
            print(f"c360: {name} answers differ from the bound: {why}")
        runs = {name: [] for name in ports}
        for name in ports:
            wrk(ports[name], a.connections, 2)  # warm-up
        load = [os.getloadavg()[0]]
        for _ in range(a.rounds):
            for name in ports:
                runs[name].append(wrk(ports[name], a.connections, a.duration, procs[name].pid))
        one = {name: wrk(ports[name], 1, 3, procs[name].pid) for name in ports}
        load.append(os.getloadavg()[0])
    finally:
        for p in procs.values():
            stop(p)
    bound = statistics.median(r["rps"] for r in runs["bound"])
    print(
        f"\n# c360: {a.connections} connections, {a.rounds} x {a.duration} s alternating; "
        f"peer on CPU {PEER_CPUS}, wrk on CPU {LOAD_CPUS}; load average {load[0]:.1f} before, {load[1]:.1f} after\n"
    )
    print(
        "| peer | req/s (median) | per round | p50 ms | p99 ms | bad / requests | CPU ms/answer | "
        "1-conn req/s (bad) | 1-conn p50 ms | 1-conn CPU ms/answer | x bound | correct |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    result = {}
    for name, rs in runs.items():
        med = statistics.median(r["rps"] for r in rs)
        p50 = statistics.median(r["p50"] for r in rs)
        p99 = statistics.median(r["p99"] for r in rs)
        bad = sum(r["bad"] for r in rs)
        total = sum(r["requests"] for r in rs)
        cpu = statistics.median(r["cpu_ms"] for r in rs if r["cpu_ms"] is not None) if total else float("nan")
        one_cpu = one[name]["cpu_ms"] if one[name]["cpu_ms"] is not None else float("nan")
        result[name] = {
            "rps": med,
            "ratio": med / bound,
            "p50": p50,
            "p99": p99,
            "bad": bad,
            "requests": total,
            "cpu_ms": cpu,
            "one_conn_rps": one[name]["rps"],
            "one_conn_bad": one[name]["bad"],
            "one_conn_p50": one[name]["p50"],
            "one_conn_cpu_ms": one_cpu,
            "load": load,
            "correct": name not in wrong,
        }
        print(
            f"| {name} | {med:,.0f} | {' / '.join(format(r['rps'], ',.0f') for r in rs)} | {p50:.1f} | {p99:.1f} | "
            f"{bad:,} / {total:,} | {cpu:.2f} | {one[name]['rps']:,.0f} ({one[name]['bad']}) | "
            f"{one[name]['p50']:.2f} | {one_cpu:.2f} | {med / bound:.2f} | {'yes' if name not in wrong else 'NO'} |"
        )
    (work / "results.json").write_text(json.dumps(result, indent=1))
    print(f"\n(results: {work}/results.json)")
    spoiled = [name for name, r in result.items() if r["bad"] or r["one_conn_bad"]]
    for name in spoiled:
        print(
            f"c360: {name} gave bad answers under load ({result[name]['bad']} + {result[name]['one_conn_bad']}): "
            "do not report this run"
        )
    sys.exit(1 if wrong or spoiled else 0)


if __name__ == "__main__":
    main()
