"""`federation check` samples linking keys and warns when two systems' numbers collide but their
records disagree (each system numbers its own orders), or notes when they agree but the scope
keeps them apart (the systems share a numbering nobody declared)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.identity.collisions import find_collisions

ORDERS = 40


def database(folder: Path, name: str, domain: str) -> None:
    """Orders 1..ORDERS, each of its own customer, whose email ends in `domain`."""
    with sqlite3.connect(folder / f"{name}.db") as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT, customer_id INTEGER)")
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                         [(i, f"Person {i}", f"person{i}@{domain}") for i in range(1, ORDERS + 1)])
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         [(1000 + i, str(i), i) for i in range(1, ORDERS + 1)])


def source(name: str) -> dict[str, Any]:
    return {"type": "sql", "url": f"sqlite+aiosqlite:///{name}.db", "entities": {
        "Customer": {"table": "customers", "id": "id", "fields": {"emails": "email"}, "keys": {"email": "email"}},
        "Purchase": {"table": "orders", "id": "id", "fields": {"orderNumber": "order_no"},
                     "keys": {"orderNumber": "order_no"}, "refs": {"customer": "customer_id"}}}}


def check(folder: Path, pos_domain: str, scope: Any = None) -> tuple[int, str]:
    folder.mkdir(exist_ok=True)
    database(folder, "shop", "shop.example")
    database(folder, "pos", pos_domain)
    config: dict[str, Any] = {"sources": {"shop": source("shop"), "pos": source("pos")}}
    if scope is not None:
        config["model"] = {"entities": {"Purchase": {"keys": {"orderNumber": {"scope": scope}}}}}
    (folder / "onepane.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "federation", "check", "onepane.yaml"], capture_output=True,
                          text=True, timeout=60, cwd=folder)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_check_warns_when_a_shared_scope_links_numbers_whose_customers_differ(tmp_path: Path) -> None:
    code, output = check(tmp_path / "apart", "till.example")  # the built-in scope: source, as it should be
    assert code == 0 and "configuration is valid" in output, output
    assert "key scope" not in output
    code, output = check(tmp_path / "grouped", "till.example", {"group": ["shop", "pos"]})
    assert code == 0, output
    assert "1 key scope warning(s) below" in output
    assert ("key scope warning Purchase.orderNumber: 40 value(s) appear in both shop and pos (e.g. 1, 10, 11) "
            "but for 40 of them the records disagree on email, and scope group [shop, pos] links them; if these "
            "systems do not share a numbering, leave one of them out of the key's group [shop, pos]") in output


def test_check_warns_on_a_global_order_number_and_says_set_scope_source(tmp_path: Path) -> None:
    code, output = check(tmp_path, "till.example", "global")
    assert code == 0 and "1 key scope warning(s) below" in output, output
    assert "if these systems do not share a numbering, set scope: source on this key" in output


def test_check_notes_numbers_that_agree_across_systems_kept_apart(tmp_path: Path) -> None:
    code, output = check(tmp_path, "shop.example")  # the built-in scope: source
    assert code == 0 and "configuration is valid" in output and "warning" not in output, output
    assert ("key scope note Purchase.orderNumber: 40 value(s) appear in both shop and pos (e.g. 1, 10, 11) and for "
            "40 of them the records agree; the key's scope (source) keeps them apart: if these systems share a "
            "numbering, declare scope: {group: [shop, pos, ...]}") in output


FIRST = ["Ann", "Bob", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo"]
LAST = ["Lee", "Stone", "Diaz", "Patel", "Moss", "Quinn", "Reid", "Sato", "Voss", "Wong"]


def named(folder: Path, name: str, shift: int) -> None:
    """Orders 1..10 of customers with names and no email; `shift` gives another system other people."""
    with sqlite3.connect(folder / f"{name}.db") as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, order_no TEXT, customer_id INTEGER)")
        conn.executemany("INSERT INTO customers VALUES (?, ?, NULL)",
                         [(i, f"{FIRST[(i + shift) % 10]} {LAST[(i + shift) % 10]}") for i in range(10)])
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(100 + i, str(i), i) for i in range(10)])


async def test_names_are_evidence_and_the_sample_is_bounded(tmp_path: Path) -> None:
    named(tmp_path, "shop", 0)
    named(tmp_path, "pos", 3)
    sources = {"shop": source("shop"), "pos": source("pos")}
    for spec in sources.values():
        spec["url"] = spec["url"].replace("///", f"///{tmp_path}/")
        spec["entities"]["Customer"]["fields"]["name"] = "name"
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump({"sources": sources, "model": {"entities": {"Purchase": {
        "keys": {"orderNumber": {"scope": "global"}}}}}}))
    gateway = Gateway.from_config(load_config(path, {}))
    await gateway.start()
    try:
        (full,) = await find_collisions(gateway.model, gateway.scopes, gateway.connectors, gateway.timeouts)
        (sampled,) = await find_collisions(gateway.model, gateway.scopes, gateway.connectors, gateway.timeouts,
                                           per_source=4)
    finally:
        await gateway.close()
    assert (full.values, full.disagree, full.differing, full.warning) == (10, 10, ("name",), True)
    assert sampled.values == 4  # each source read at most 4 records
