"""Identity quality at query time: precision, recall and F1 of links and suggestions, and latency.

Generates people with ground truth and three systems' copies of them, with the noise legacy
systems have: typos, nicknames, first and last names swapped, day and month swapped, missing
dates and emails, moved addresses, other email addresses, phone formats, and households whose
members share a surname, an address, a landline and sometimes one email.

- shop: SQLite (`customers`: full name, email, phone, dob `YYYY-MM-DD`, postcode, address)
- pos: PostgreSQL (`pos_customers`: FIRST / LAST in capitals, phone, dob `YYYYMMDD`, postcode)
- crm: MariaDB (`contacts`: name, email, phone, dob DATE, postcode, address)

The gateway runs in-process (`Gateway.from_config` → `create_app` → aiohttp on 127.0.0.1) and
every lookup is GraphQL over HTTP: `customer(id: "shop:<id>") { sourceRecords possibleMatches }`.
For each seed, every other record of the same person is a true pair; a pair is auto-linked when
the record is in the seed's customer, suggested when it is in one of its possibleMatches.
The same lookups run with the fuzzy rules off (keys only) for comparison.

Run: `python benchmarks/identity.py [--people 2000] [--lookups 400] [--seed 7] [--out FILE]`.
FEBRL1 and FEBRL2, weighted mean against the trained model (`benchmarks/identity_febrl.py`):
`python benchmarks/identity.py --febrl [--sets febrl1 febrl2] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import yaml
from aiohttp import web
from sqlalchemy.ext.asyncio import create_async_engine

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from federation.training import train_from_config

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
MARIA_ADMIN = "mysql+aiomysql://root@127.0.0.1:3306/"
DB = os.environ.get("ONEPANE_IDENTITY_BENCH_DB", "onepane_identity_bench")  # another name when runs share a server

FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
         "David", "Susan", "Richard", "Margaret", "Joseph", "Sarah", "Thomas", "Karen", "Charles", "Nancy",
         "Christopher", "Lisa", "Daniel", "Sandra", "Matthew", "Katherine", "Anthony", "Rebecca", "Andrew", "Emma",
         "Samuel", "Olivia", "Peter", "Sophie", "Stephen", "Chloe", "Nicholas", "Lucy", "Edward", "Grace",
         "Benjamin", "Amelia", "Henry", "Isla", "Oliver", "Ava", "George", "Mia", "Harry", "Ella", "Jack",
         "Freya", "Noah", "Zoë", "José", "Aisha", "Mohammed", "Priya", "Wei", "Siobhan", "Kenneth", "Deborah"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
        "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
        "Patel", "Khan", "Lewis", "Harris", "Martin", "Cooper", "King", "Lee", "Baker", "Harrison", "Morgan",
        "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young",
        "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw",
        "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "García",
        "O'Brien", "Nguyen", "Kowalski", "Müller", "Dubois", "Rossi", "Okafor", "Singh", "Chen", "Hughes"]
NICK = {"William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Katherine": "Kate", "Michael": "Mike",
        "James": "Jim", "Thomas": "Tom", "Samuel": "Sam", "Daniel": "Dan", "Matthew": "Matt", "Nicholas": "Nick",
        "Christopher": "Chris", "Anthony": "Tony", "Andrew": "Andy", "Edward": "Ed", "Benjamin": "Ben",
        "Margaret": "Peggy", "Rebecca": "Becky", "Stephen": "Steve", "Peter": "Pete", "Deborah": "Debbie",
        "Kenneth": "Ken", "Henry": "Harry", "Jennifer": "Jenny", "Susan": "Sue", "Patricia": "Pat"}
STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Victoria Road", "Green Lane", "Mill Road",
           "Kings Road", "Queen Street", "New Street", "The Crescent", "Manor Road", "School Lane", "York Road"]
TOWNS = [("Leeds", "LS"), ("Bristol", "BS"), ("Manchester", "M"), ("Glasgow", "G"), ("Cardiff", "CF"),
         ("Norwich", "NR"), ("York", "YO"), ("Brighton", "BN"), ("Oxford", "OX"), ("Bath", "BA")]


@dataclass
class Person:
    pid: int
    first: str
    last: str
    dob: date
    address: str
    postcode: str
    email: str
    mobile: str
    landline: str | None = None
    family_email: str | None = None


@dataclass
class Copy:
    source: str
    local_id: str
    pid: int
    row: dict[str, Any] = field(default_factory=dict)


def _address(rng: random.Random) -> tuple[str, str]:
    town, prefix = rng.choice(TOWNS)
    postcode = f"{prefix}{rng.randint(1, 29)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
               f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    return f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {town}", postcode


def people(n: int, rng: random.Random) -> list[Person]:
    """`n` people; about a quarter live in households sharing surname, address, landline (and an email)."""
    out: list[Person] = []
    while len(out) < n:
        last = rng.choice(LAST)
        address, postcode = _address(rng)
        size = rng.choice([2, 2, 3, 4]) if rng.random() < 0.12 else 1
        landline = f"+44113{rng.randint(1000000, 9999999)}" if size > 1 else None
        shared = f"the.{_plain(last)}s{rng.randint(1, 999)}@example.net" if size > 1 and rng.random() < 0.4 else None
        for _ in range(size):
            first = rng.choice(FIRST)
            dob = date(1940, 1, 1) + timedelta(days=rng.randint(0, 65 * 365))
            email = f"{_plain(first)}.{_plain(last)}{rng.randint(1, 9999)}@example.com"
            out.append(Person(len(out) + 1, first, last, dob, address, postcode, email,
                              f"+447700{rng.randint(100000, 999999)}", landline, shared))
    return out[:n]


def _plain(text: str) -> str:
    return "".join(c for c in text.lower() if c in string.ascii_lowercase)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["sub", "drop", "swap", "double"])
    if kind == "sub":
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]


def _name(p: Person, rng: random.Random) -> tuple[str, str]:
    first, last = p.first, p.last
    if rng.random() < 0.06 and first in NICK:
        first = NICK[first]
    if rng.random() < 0.10:
        if rng.random() < 0.5:
            first = _typo(first, rng)
        else:
            last = _typo(last, rng)
    if rng.random() < 0.03:
        first, last = last, first
    return first, last


def _dob(p: Person, rng: random.Random) -> date | None:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.11 and p.dob.day <= 12 and p.dob.day != p.dob.month:
        return date(p.dob.year, p.dob.day, p.dob.month)
    if roll < 0.13:
        try:
            return p.dob.replace(day=p.dob.day % 10 + (p.dob.day // 10) * 10 + (1 if p.dob.day % 10 < 8 else -1))
        except ValueError:
            return p.dob
    return p.dob


def _where(p: Person, rng: random.Random) -> tuple[str, str]:
    return _address(rng) if rng.random() < 0.10 else (p.address, p.postcode)


def _phone(p: Person, rng: random.Random, national: bool) -> str | None:
    number = p.landline if p.landline and rng.random() < 0.7 else p.mobile
    if rng.random() < 0.25:
        return None
    return "0" + number[3:] if national else number


def _email(p: Person, rng: random.Random, present: float) -> str | None:
    if rng.random() > present:
        return None
    if p.family_email and rng.random() < 0.5:
        return p.family_email
    if rng.random() < 0.15:
        return f"{_plain(p.first)[0]}{_plain(p.last)}@work{rng.randint(1, 99)}.example.org"
    return p.email.upper() if rng.random() < 0.1 else p.email


def copies(folk: list[Person], rng: random.Random) -> list[Copy]:
    """Each person in each system with its coverage (at least one), noisy per copy."""
    out: list[Copy] = []
    for p in folk:
        present = [s for s, share in (("shop", 0.8), ("pos", 0.6), ("crm", 0.7)) if rng.random() < share]
        for source in present or ["shop"]:
            first, last = _name(p, rng)
            born = _dob(p, rng)
            address, postcode = _where(p, rng)
            local = f"{source[0].upper()}{len(out) + 1:06d}"
            if source == "shop":
                row = {"id": local, "full_name": f"{first} {last}", "email": _email(p, rng, 0.9),
                       "phone": _phone(p, rng, True), "dob": born.isoformat() if born else None,
                       "postcode": postcode, "address": address}
            elif source == "pos":
                row = {"id": local, "first_name": first.upper(), "last_name": last.upper(),
                       "phone": _phone(p, rng, False), "dob": born.strftime("%Y%m%d") if born else None,
                       "postcode": postcode.replace(" ", "")}
            else:
                row = {"id": local, "name": f"{first} {last}", "email": _email(p, rng, 0.8),
                       "phone": _phone(p, rng, rng.random() < 0.5), "dob": born, "postcode": postcode.lower(),
                       "address": address.upper()}
            out.append(Copy(source, local, p.pid, row))
    return out


TABLES = {
    "shop": ("customers", ["id", "full_name", "email", "phone", "dob", "postcode", "address"]),
    "pos": ("pos_customers", ["id", "first_name", "last_name", "phone", "dob", "postcode"]),
    "crm": ("contacts", ["id", "name", "email", "phone", "dob", "postcode", "address"]),
}


def _table(source: str) -> sa.Table:
    name, columns = TABLES[source]
    meta = sa.MetaData()
    cols = [sa.Column("id", sa.String(20), primary_key=True)]
    cols += [sa.Column(c, sa.Date if (source == "crm" and c == "dob") else sa.String(200)) for c in columns[1:]]
    return sa.Table(name, meta, *cols)


async def _admin(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for statement in statements:
            await conn.execute(sa.text(statement))
    await engine.dispose()


async def load(rows: list[Copy], folder: Path) -> dict[str, str]:
    """Create the three databases and fill them; the URLs the config uses."""
    await _admin(PG_ADMIN, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    await _admin(MARIA_ADMIN, f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB} CHARACTER SET utf8mb4")
    urls = {"shop": f"sqlite+aiosqlite:///{folder / 'shop.db'}",
            "pos": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}",
            "crm": f"mysql+aiomysql://root@127.0.0.1:3306/{DB}?charset=utf8mb4"}
    for source, url in urls.items():
        table = _table(source)
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            batch = [c.row for c in rows if c.source == source]
            for i in range(0, len(batch), 1000):
                await conn.execute(table.insert(), batch[i:i + 1000])
        await engine.dispose()
    return urls


_LOOKUP_COLUMNS = re.compile(r"^-- then in the config: sources\.(\w+)\.entities\.(\w+)\.lookup_columns: (\{.*\})$")


async def add_indexes(cfg: dict[str, Any], urls: dict[str, str], folder: Path) -> dict[str, Any]:
    """Run the statements `federation indexes` prints for these sources, as their DBA would.

    MariaDB has no expression indexes: its advice adds generated columns, and the config then names
    them in `lookup_columns`, exactly as the advice's notes say. Returns that config.
    """
    path = folder / "advice.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), "utf-8")
    gateway = Gateway.from_config(load_config(path))
    await gateway.start()
    try:
        advice = {name: await c.index_advice() for name, c in gateway.connectors.items()}
    finally:
        await gateway.close()
    for source, lines in advice.items():
        engine = create_async_engine(urls[source])
        async with engine.begin() as conn:
            for line in lines:
                if not line.startswith("--"):
                    await conn.execute(sa.text(line))
        await engine.dispose()
        for line in lines:
            found = _LOOKUP_COLUMNS.match(line)
            if found:
                mapping = cfg["sources"][found.group(1)]["entities"][found.group(2)]
                mapping.setdefault("lookup_columns", {}).update(yaml.safe_load(found.group(3)))
    return cfg


def config(urls: dict[str, str], fuzzy: bool, model: str | None = None) -> dict[str, Any]:
    customer: dict[str, Any] = {"keys": {"email": {"normalize": "email", "links": True, "shared": True},
                                         "dob": {"normalize": "code"}, "postcode": {"normalize": "code"}}}
    if fuzzy and model:
        # The trained rule: the same blocking and comparisons, levels and weights from the model.
        customer["identity"] = {"model": model, "rules": {"person": {
            "blocking": [["dob"], ["postcode"]],
            "compare": {"name": {"method": "name"}, "dob": {"method": "date"},
                        "postcode": {"method": "code", "shared": True}, "addresses": {"method": "address"}}}}}
    elif fuzzy:
        customer["identity"] = {"rules": {"person": {
            "blocking": [["dob"], ["postcode"]],
            "compare": {"name": {"method": "name", "weight": 4}, "dob": {"method": "date", "weight": 3},
                        "postcode": {"method": "exact", "weight": 1},
                        "addresses": {"method": "address", "weight": 1}},
            "link": 0.92, "suggest": 0.7, "autoLink": True}}}
    keys = {"email": "email", "phone": "phone", "dob": "dob", "postcode": "postcode"}
    return {
        "gateway": {"region": "GB", "max_hops": 3, "graphiql": False},
        "security": {"anonymous_role": "bench", "roles": {"bench": {"allow": ["*"]}}},
        "model": {"entities": {"Customer": customer}},
        "sources": {
            "shop": {"type": "sql", "url": urls["shop"], "entities": {"Customer": {
                "table": "customers", "id": "id", "keys": keys,
                "fields": {"name": "full_name", "emails": "email", "phones": "phone", "addresses": "address"}}}},
            "pos": {"type": "sql", "url": urls["pos"], "entities": {"Customer": {
                "table": "pos_customers", "id": "id", "keys": {k: v for k, v in keys.items() if k != "email"},
                "fields": {"name": {"columns": ["first_name", "last_name"], "transform": [{"join": " "}]},
                           "phones": "phone"}}}},
            "crm": {"type": "sql", "url": urls["crm"], "entities": {"Customer": {
                "table": "contacts", "id": "id", "keys": keys,
                "fields": {"name": "name", "emails": "email", "phones": "phone", "addresses": "address"}}}},
        },
    }


QUERY = """query($id: ID!) { customer(id: $id) { sourceRecords { source localId }
  %s } }"""
MATCHES = "possibleMatches { score customer { sourceRecords { source localId } } }"


@dataclass
class Tally:
    auto_true: int = 0
    auto_false: int = 0
    suggest_true: int = 0
    suggest_false: int = 0
    true_pairs: int = 0
    millis: list[float] = field(default_factory=list)
    false_examples: list[str] = field(default_factory=list)

    def report(self) -> dict[str, float]:
        auto = self.auto_true + self.auto_false
        found = self.auto_true + self.suggest_true
        offered = auto + self.suggest_true + self.suggest_false
        p_auto = self.auto_true / auto if auto else 1.0
        r_auto = self.auto_true / self.true_pairs if self.true_pairs else 1.0
        p_any = found / offered if offered else 1.0
        r_any = found / self.true_pairs if self.true_pairs else 1.0
        ms = sorted(self.millis)
        return {
            "auto-link precision": p_auto, "auto-link recall": r_auto, "auto-link F1": _f1(p_auto, r_auto),
            "links+suggestions precision": p_any, "links+suggestions recall": r_any,
            "links+suggestions F1": _f1(p_any, r_any),
            "p50 ms": statistics.median(ms), "p95 ms": ms[int(len(ms) * 0.95) - 1], "max ms": ms[-1],
        }


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


async def measure(cfg: dict[str, Any], folder: Path, truth: dict[str, int], by_person: dict[int, set[str]],
                  seeds: list[str], fuzzy: bool) -> Tally:
    path = folder / ("fuzzy.yaml" if fuzzy else "keys.yaml")
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), "utf-8")
    model = cfg["model"]["entities"]["Customer"].get("identity", {}).get("model")
    if model and not (folder / model).exists():
        trained = await train_from_config(load_config(path), "Customer", 5000, 100_000, print)
        trained.write(folder / model)
    gateway = Gateway.from_config(load_config(path))
    runner = web.AppRunner(create_app(gateway), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
    tally = Tally()
    query = QUERY % (MATCHES if fuzzy else "")
    try:
        async with aiohttp.ClientSession() as http:
            for i, seed in enumerate(seeds[:20] + seeds):
                started = time.perf_counter()
                async with http.post(url, json={"query": query, "variables": {"id": seed}}) as response:
                    body = await response.json()
                elapsed = (time.perf_counter() - started) * 1000
                if i < 20:
                    continue  # warm-up: pools and caches of the databases
                tally.millis.append(elapsed)
                _score(tally, body["data"]["customer"], seed, truth, by_person)
    finally:
        await runner.cleanup()
    return tally


def _score(tally: Tally, customer: dict[str, Any], seed: str, truth: dict[str, int],
           by_person: dict[int, set[str]]) -> None:
    person = truth[seed]
    linked = {f"{r['source']}:{r['localId']}" for r in customer["sourceRecords"]} - {seed}
    suggested = {f"{r['source']}:{r['localId']}" for m in customer.get("possibleMatches", [])
                 for r in m["customer"]["sourceRecords"]} - linked - {seed}
    tally.true_pairs += len(by_person[person] - {seed})
    for ref in linked:
        if truth[ref] == person:
            tally.auto_true += 1
        else:
            tally.auto_false += 1
            tally.false_examples.append(f"{seed} ~ {ref}")
    for ref in suggested:
        if truth[ref] == person:
            tally.suggest_true += 1
        else:
            tally.suggest_false += 1


def markdown(n_people: int, n_rows: dict[str, int], results: dict[str, dict[str, float]], lookups: int,
             examples: list[str]) -> str:
    lines = [f"People: {n_people}; records: " + ", ".join(f"{s} {n}" for s, n in n_rows.items())
             + f"; lookups: {lookups} (seeds are shop records, GraphQL over HTTP, after 20 warm-up lookups).", "",
             "| metric | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for metric in next(iter(results.values())):
        cells = [f"{r[metric]:.1f}" if "ms" in metric else f"{r[metric]:.4f}" for r in results.values()]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    if examples:
        lines += ["", "False auto-links (seed ~ record): " + ", ".join(examples[:10])]
    return "\n".join(lines) + "\n"


async def main() -> None:
    if "--febrl" in sys.argv:
        from identity_febrl import main as febrl_main  # the sibling script, on sys.path when run as a script

        await febrl_main([a for a in sys.argv[1:] if a != "--febrl"])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folk = people(args.people, rng)
    rows = copies(folk, rng)
    truth = {f"{c.source}:{c.local_id}": c.pid for c in rows}
    by_person: dict[int, set[str]] = {}
    for ref, pid in truth.items():
        by_person.setdefault(pid, set()).add(ref)
    seeds = rng.sample([r for r in truth if r.startswith("shop:")], args.lookups)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        urls = await load(rows, folder)
        results: dict[str, dict[str, float]] = {}
        runs: dict[str, Tally] = {}
        for indexed in (False, True):
            label = "" if indexed else ", no indexes"
            for variant in ("keys only", "keys + fuzzy rule", "keys + trained model"):
                fuzzy = variant != "keys only"
                cfg = config(urls, fuzzy, "person-model.json" if variant == "keys + trained model" else None)
                if indexed:
                    cfg = await add_indexes(cfg, urls, folder)
                name = variant + label
                runs[name] = await measure(cfg, folder, truth, by_person, seeds, fuzzy)
                results[name] = runs[name].report()
    same = all({k: v for k, v in results[n].items() if "ms" not in k}
               == {k: v for k, v in results[n + ", no indexes"].items() if "ms" not in k}
               for n in ("keys only", "keys + fuzzy rule", "keys + trained model"))
    if not same:
        raise SystemExit("indexed lookups linked differently from unindexed ones: a lookup column is wrong")
    n_rows = {s: sum(1 for c in rows if c.source == s) for s in ("shop", "pos", "crm")}
    text = markdown(args.people, n_rows, results, args.lookups,
                    runs["keys + fuzzy rule"].false_examples + runs["keys + trained model"].false_examples)
    print(text)
    if args.out:
        args.out.write_text(text, "utf-8")


if __name__ == "__main__":
    asyncio.run(main())
