"""`federation sql` and `/sql` on the live demo: the analysts' three questions, refusals, limits, formats."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from tests.stories.conftest import LiveDemo


def sql_url(live: LiveDemo) -> str:
    return live.handle.url.removesuffix("/graphql") + "/sql"


def ask(live: LiveDemo, sql: str, headers: dict[str, str] | None = None, **limits: Any) -> tuple[int, dict[str, Any]]:
    body = orjson.dumps({"sql": sql, **limits})
    request = urllib.request.Request(sql_url(live), data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def rows(live: LiveDemo, sql: str) -> list[dict[str, Any]]:
    status, body = ask(live, sql)
    assert status == 200, body
    names = [c["name"] for c in body["columns"]]
    return [dict(zip(names, row, strict=True)) for row in body["rows"]]


def test_top_customers_by_spend_have_numbers_and_no_pseudo_customer(demo: LiveDemo) -> None:
    top = rows(demo, """
        SELECT c.id, c.name, p.total_currency AS currency, sum(p.total_amount) AS spend, count(*) AS purchases
        FROM purchases p JOIN customers c ON c.id = p.customer_id
        GROUP BY ALL ORDER BY spend DESC, c.id LIMIT 10""")
    assert len(top) == 10
    assert all(r["id"] and r["id"] != "none" and r["currency"] == "GBP" for r in top)
    spends = [Decimal(r["spend"]) for r in top]
    assert spends == sorted(spends, reverse=True)
    assert all(len(r["spend"].partition(".")[2]) == 2 for r in top)  # 990.00, never 990 or 990.000000


def test_purchases_per_channel_per_week(demo: LiveDemo) -> None:
    weekly = rows(demo, """
        SELECT channel, date_trunc('week', placed_at) AS week, count(*) AS n
        FROM purchases WHERE placed_at IS NOT NULL GROUP BY ALL ORDER BY week, channel""")
    assert {r["channel"] for r in weekly} >= {"WEB", "STORE"}
    assert all(r["week"].endswith("T00:00:00+00:00") for r in weekly)
    total = rows(demo, "SELECT count(*) AS n FROM purchases WHERE placed_at IS NOT NULL")[0]["n"]
    assert sum(r["n"] for r in weekly) == total


def test_customers_with_an_open_case_and_a_recent_purchase(demo: LiveDemo) -> None:
    found = rows(demo, """
        SELECT DISTINCT c.name FROM customers c
        JOIN cases k ON k.customer_id = c.id AND k.status = 'OPEN'
        JOIN purchases p ON p.customer_id = c.id AND p.placed_at >= TIMESTAMPTZ '2025-11-26' - INTERVAL 30 DAY
        ORDER BY 1""")
    assert found and all(r["name"] for r in found)
    # Every answer is a customer who really has an open case, by the GraphQL API too.
    opened = rows(demo, "SELECT DISTINCT customer_id FROM cases WHERE status = 'OPEN'")
    assert len(opened) >= len(found)


def test_line_items_join_their_purchase(demo: LiveDemo) -> None:
    lines = rows(demo, """
        SELECT p.id, p.total_amount, sum(i.quantity * i.unit_price_amount) AS items
        FROM purchases p JOIN line_items i ON i.purchase_id = p.id GROUP BY ALL""")
    assert lines and all(r["items"] is not None for r in lines)


@pytest.mark.parametrize(("sql", "code", "says"), [
    ("INSERT INTO purchases SELECT * FROM purchases", "SQL_REFUSED", "only SELECT"),
    ("COPY purchases TO '/tmp/onepane-leak.csv'", "SQL_REFUSED", "only SELECT"),
    ("ATTACH '/tmp/x.db'", "SQL_REFUSED", "only SELECT"),
    ("INSTALL httpfs", "SQL_REFUSED", "only SELECT"),
    ("SET enable_external_access = true", "SQL_REFUSED", "only SELECT"),
    ("SELECT 1; SELECT 2", "SQL_REFUSED", "exactly one statement"),
    ("SELECT * FROM read_csv('/etc/passwd')", "BAD_SQL", "tables:"),
    ("SELECT * FROM os", "BAD_SQL", "tables:"),  # never a Python variable of the server
    ("SELECT nope FROM purchases", "BAD_SQL", "purchases(id VARCHAR"),
    ("SELEC 1", "BAD_SQL", "does not parse"),
])
def test_statements_that_cannot_run_are_refused_with_the_tables(demo: LiveDemo, sql: str, code: str,
                                                                 says: str) -> None:
    status, body = ask(demo, sql)
    assert status == 400
    error = body["errors"][0]
    assert error["extensions"]["code"] == code
    assert says in error["message"]
    assert not Path("/tmp/onepane-leak.csv").exists()


def test_row_limit_and_timeout(demo: LiveDemo) -> None:
    status, body = ask(demo, "SELECT * FROM range(100)", maxRows=7)
    assert status == 200 and len(body["rows"]) == 7 and body["truncated"] is True
    status, body = ask(demo, "SELECT count(*) FROM range(1000000) a, range(1000000) b", timeoutSeconds=1)
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "SQL_TIMEOUT"
    status, body = ask(demo, "SELECT 1", maxRows=10**9)
    assert status == 400 and "maxRows" in body["errors"][0]["message"]


def _cli(live: LiveDemo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation", "sql", "--url", sql_url(live), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ})


def test_cli_csv_jsonl_and_parquet(demo: LiveDemo, tmp_path: Path) -> None:
    statement = "SELECT id, total_amount, total_currency, placed_at FROM purchases ORDER BY id LIMIT 5"
    done = _cli(demo, statement, "--format", "csv", "--output", str(tmp_path / "p.csv"), "--bom")
    assert done.returncode in (0, 3), done.stderr
    raw = (tmp_path / "p.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"id,total_amount,total_currency,placed_at" in raw
    done = _cli(demo, statement, "--format", "jsonl")
    first = orjson.loads(done.stdout.splitlines()[0])
    assert set(first) == {"id", "total_amount", "total_currency", "placed_at"}
    done = _cli(demo, statement, "--format", "parquet", "--output", str(tmp_path / "p.parquet"))
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.num_rows == 5 and table.column_names == ["id", "total_amount", "total_currency", "placed_at"]
    listing = _cli(demo, "--tables")
    assert "line_items(purchase_id VARCHAR" in listing.stdout and "warranties(" in listing.stdout
    refused = _cli(demo, "DROP TABLE purchases")
    assert refused.returncode == 2 and "SQL_REFUSED" in refused.stderr


class _HttpFetcher:
    def __init__(self, url: str) -> None:
        self.url = url

    async def run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        import aiohttp

        async with aiohttp.ClientSession() as session, session.post(
                self.url, json={"query": document, "variables": variables}) as response:
            body: dict[str, Any] = orjson.loads(await response.read())
            return body


@pytest.mark.parametrize("sql", [
    "SELECT id FROM purchases WHERE placed_at >= '2025-11-10' AND placed_at < '2025-11-17' ORDER BY id",
    "SELECT id FROM purchases WHERE placed_at > TIMESTAMPTZ '2025-11-18 16:47:00+00' ORDER BY id",
    "SELECT id FROM purchases WHERE placed_at <= '2025-11-18 16:47:00' ORDER BY id",
    "SELECT id FROM purchases WHERE placed_at BETWEEN '2025-11-01' AND '2025-11-18 16:47:00' ORDER BY id",
    "SELECT channel, count(*) AS n FROM purchases WHERE channel = 'STORE' GROUP BY 1",
    "SELECT c.name, count(*) AS n FROM purchases p JOIN customers c ON c.id = p.customer_id "
    "WHERE p.placed_at >= TIMESTAMPTZ '2025-11-28' - INTERVAL 30 DAY GROUP BY 1 ORDER BY 1",
])
async def test_pushed_filters_change_what_is_fetched_never_the_answer(demo: LiveDemo, sql: str) -> None:
    from federation.analyst.sql import run_sql
    from federation.analyst.sql_plan import plan_for
    from federation.api.schema import build_schema
    from federation.config import load_model

    model = load_model(demo.handle.config)
    plan = plan_for(build_schema(model)._schema, model, None, "*")
    fetcher = _HttpFetcher(demo.handle.url)
    pushed = await run_sql(sql, plan, fetcher, 1000, 60)
    everything = await run_sql(sql, plan, fetcher, 1000, 60, push=False)
    assert pushed.pushed and not everything.pushed
    assert pushed.rows == everything.rows
    assert pushed.fetched["purchases"] < everything.fetched["purchases"]
