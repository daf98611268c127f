"""One question, one answer: the demo's aggregate and lookup roots asked again and again, on fresh
gateways one at a time and on one gateway all at once by both execution paths, answer the same
bytes every time (but for wall time, how many calls the lookups took and how many of those joined
another request's call: `_steady`).

`purchaseStats(groupBy: CUSTOMER)` once reported 50 shop records on one run and 51 on the next:
the customers' look-ups reach each source in however many calls met in an event-loop tick, and a
record two calls both returned was counted twice. `extensions.sources.*.records` now counts each
record a source sent once (federation/engine/fetch.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson
import yaml

from federation.api.fastpath import FastPath
from federation.demo.crm import serve_crm
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from tests.integration.test_fastpath import _gateway, _post, _timeless, _view

RUNS = 30
QUERIES = {  # name: (document, variables)
    "stats by customer": ("{ purchaseStats(groupBy: CUSTOMER, top: 10) { purchases truncated groups { key label count "
                          "totals { amount currency } } } }", {}),
    "stats by store then channel": ("{ purchaseStats(groupBy: STORE, thenBy: CHANNEL) { purchases groups { key keys "
                                    "label labels count totals { amount currency } } } }", {}),
    "stats by day, one source": ('{ purchaseStats(groupBy: DAY, filter: {source: "pos"}) { purchases truncated '
                                 "groups { key count totals { amount currency } } } }", {}),
    "a customer's 360": ("query C($e: String!) { customers(email: $e) { id name sourceRecords { source localId } "
                         "purchases { orderNumber total { amount currency } store { name } } } }",
                         {"e": "ann.lee@example.com"}),
    "purchases with customers": ("{ purchases(first: 20) { nodes { id orderNumber customer { id name "
                                 "purchases { id } } } pageInfo { endCursor } } }", {}),
}


@asynccontextmanager
async def _sources(tmp_path: Path) -> AsyncIterator[tuple[Path, dict[str, str]]]:
    """The demo's legacy systems, built and served once for every gateway the test starts."""
    files = build_demo(tmp_path)
    config = tmp_path / "demo.yaml"
    settings = yaml.safe_load(demo_config_text())
    # Generous deadlines: on a loaded machine a source call past its 3 s would answer with a
    # timeout, another answer for a reason this test is not about.
    settings["gateway"]["request_timeout"] = 60
    for source in settings["sources"].values():
        source["timeout"] = 30
        if source["type"] == "sql":  # the SQL connector's own bound on a statement (3 s by default)
            source["statement_timeout"] = 30
    config.write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
    key = secrets.token_urlsafe(18)
    crm, port = await serve_crm(files.crm, key, host="127.0.0.1", port=0)
    try:
        yield config, {"ONEPANE_CRM_URL": f"http://127.0.0.1:{port}", "ONEPANE_CRM_API_KEY": key}
    finally:
        await crm.cleanup()


def _steady(raw: bytes) -> bytes:
    """`_timeless`, and `coalesced` zeroed: questions asked at once share identical source calls."""
    answer = orjson.loads(_timeless(raw))
    for stats in (answer.get("extensions") or {}).get("sources", {}).values():
        stats["coalesced"] = 0
    return orjson.dumps(answer)


def _one_answer(answers: list[bytes], what: str) -> dict[str, object]:
    seen = Counter(_steady(a) for a in answers)
    told = [({s: (v["records"], v["error"]) for s, v in (orjson.loads(a).get("extensions") or {}).get("sources", {})
              .items() if v["calls"]}, orjson.loads(a).get("errors"), n) for a, n in seen.items()]
    assert len(seen) == 1, (what, "(records, error) per source, errors, and how many runs answered so:", told)
    answer: dict[str, object] = orjson.loads(next(iter(seen)))
    assert answer.get("errors") is None and answer["data"], (what, answer)
    return answer


async def test_each_question_gets_one_answer_on_fresh_gateways_and_on_one(tmp_path: Path) -> None:
    answers: dict[str, list[bytes]] = {name: [] for name in QUERIES}
    async with _sources(tmp_path) as (config, env):
        for _ in range(RUNS):  # a fresh gateway each run: cold pools, first calls, other timings
            async with _gateway(config, env) as (_app, url), aiohttp.ClientSession() as session:
                for name, (query, variables) in QUERIES.items():
                    answers[name].append(await _post(session, url, query, variables=variables))
        fresh = {name: _one_answer(got, f"fresh gateways: {name}") for name, got in answers.items()}
        async with _gateway(config, env) as (app, url), aiohttp.ClientSession() as session:
            view = _view(app)
            fast = view.fast
            assert isinstance(fast, FastPath)
            answers = {name: [] for name in QUERIES}
            for run in range(RUNS):  # one gateway, every question at once, strawberry and the compiled path in turn
                view.fast = None if run % 2 else fast
                got = await asyncio.gather(*(_post(session, url, query, variables=variables)
                                             for query, variables in QUERIES.values()))
                for name, answer in zip(QUERIES, got, strict=True):
                    answers[name].append(answer)
            view.fast = fast
    for name, got in answers.items():
        assert _one_answer(got, f"one gateway: {name}") == fresh[name], name
