"""The compiled path (federation/api/fastpath.py) answers byte for byte as the strawberry path does:
the same documents through both, on the graphql-benchmarks contract and on the demo's sources."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from aiohttp import web

from federation.api.fastpath import FastPath
from federation.config import load_config
from federation.demo.crm import serve_crm
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.engine.gateway import Gateway
from federation.server import GATEWAY, OnepaneView, create_app
from tests.integration.test_contract_graphql_benchmarks import CONFIG, LOG, build, serve, upstream

PEER = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "onepane" / "onepane.yaml"

COMPILED = [
    "{posts{id,userId,title,user{id,name,email}}}",
    "{posts{title}}",
    "{greet}",
    "{ a: posts { t: title id } g: greet b: users { id name posts { id title } } }",
    "query Named { users { email posts { userId user { username } } } }",
    "{posts{id body user{id phone website posts{id}}}}",
    "{post(id: 3){title user{name}}}",
    "{post(id: 99999){title}}",
    "{posts(userId: 2){title}}",
    "{posts{...on Post{title}}}",
    "query Named { posts { ...P user { ...U } } } fragment P on Post { id title } fragment U on User { name }",
    "query Q($u: Int) { posts(userId: $u) { id } }",
    "{ __typename posts(userId: 1) { __typename id source } user(id: 2) { __typename name } }",
    "{posts{id source sourceRecords{source localId}}}",
]
FALLBACK = [
    "{posts{id @include(if: true)}}",
    "{ __schema { queryType { name } } }",
    "{posts{id} posts{title}}",
    "{ postz { id } }",
]


def _view(app: web.Application) -> OnepaneView:
    for route in app.router.routes():
        if isinstance(route.handler, OnepaneView):
            return route.handler
    raise AssertionError("no GraphQL view")


async def _post(session: aiohttp.ClientSession, url: str, query: str, name: str | None = None,
                variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> bytes:
    body = {"operationName": name, "variables": variables or {}, "query": query}
    async with session.post(url, data=orjson.dumps(body),
                            headers={"Content-Type": "application/json", **(headers or {})}) as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        return await r.read()


def _timeless(raw: bytes) -> bytes:
    """The answer with `extensions.sources.*` timing zeroed: wall time, and how many calls the
    lookups took (lookups that meet in one event-loop tick go to a SQL source as one statement,
    and which ones meet depends on when the other sources answered), are what may differ."""
    answer = orjson.loads(raw)
    for stats in (answer.get("extensions") or {}).get("sources", {}).values():
        stats["ms"] = 0
        stats["calls"] = stats["attempts"] = int(bool(stats["calls"]))
    return orjson.dumps(_ageless(answer))


def _ageless(value: Any) -> Any:
    """`ageSeconds` zeroed wherever it is: an export's age grows by the wall time between answers."""
    if isinstance(value, dict):
        return {k: 0 if k == "ageSeconds" and v is not None else _ageless(v) for k, v in value.items()}
    return [_ageless(v) for v in value] if isinstance(value, list) else value


async def _both(app: web.Application, url: str, query: str, name: str | None = None,
                variables: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[bytes, bytes, bool]:
    """(strawberry's answer, the second answer, whether the compiled path gave it); caches warm for both."""
    view = _view(app)
    fast = view.fast
    assert isinstance(fast, FastPath)
    async with aiohttp.ClientSession() as session:
        view.fast = None  # strawberry answers both: the first learns the document, the second has warm caches
        await _post(session, url, query, name, variables, headers)
        slow = await _post(session, url, query, name, variables, headers)
        view.fast = fast
        before = fast.answered
        fast_answer = await _post(session, url, query, name, variables, headers)
    return slow, fast_answer, fast.answered == before + 1


@asynccontextmanager
async def _gateway(config: Path, env: dict[str, str]) -> AsyncIterator[tuple[web.Application, str]]:
    app = create_app(Gateway.from_config(load_config(config, env)))
    async with serve(app) as url:
        yield app, url + "/graphql"


@pytest.mark.parametrize("config", [CONFIG, PEER], ids=["example", "peer"])
async def test_the_benchmark_contract_answers_the_same_bytes_both_ways(config: Path) -> None:
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(config, {"UPSTREAM": base}) as (app, url):
        for query in COMPILED + FALLBACK:
            name = "Named" if query.startswith("query Named") else "Q" if query.startswith("query Q") else None
            slow, fast, compiled = await _both(app, url, query, name)
            assert _timeless(fast) == _timeless(slow), query
            assert compiled == (query in COMPILED), query
            if config == PEER:
                assert fast == slow and b'"sources"' not in fast  # no timing to differ: exact bytes


def _breakable(path: str) -> tuple[web.Application, dict[str, bool]]:
    """The benchmark upstream, where requests under `path` answer 503 while `switch["down"]`."""
    posts, users = build()
    data = upstream(posts, users)
    switch = {"down": True}

    @web.middleware
    async def down(request: web.Request, handler: Any) -> web.StreamResponse:
        if switch["down"] and request.path.startswith(path):
            return web.json_response({"message": "down"}, status=503)
        return await handler(request)

    data.middlewares.append(down)
    return data, switch


def _without_retries(config: Path, tmp_path: Path) -> Path:
    settings = yaml.safe_load(config.read_text("utf-8"))
    settings["sources"]["upstream"]["guard"] = {"retries": 0}
    path = tmp_path / "down.yaml"
    path.write_text(yaml.safe_dump(settings), "utf-8")
    return path


async def test_a_failed_source_reports_the_same_errors_both_ways(tmp_path: Path) -> None:
    data, _ = _breakable("/users")
    async with serve(data) as base, _gateway(_without_retries(CONFIG, tmp_path), {"UPSTREAM": base}) as (app, url):
        slow, fast, compiled = await _both(app, url, "{posts{id,title,user{id,name}}}")
        assert compiled
        assert _timeless(fast) == _timeless(slow)
        assert orjson.loads(fast)["errors"][0]["extensions"]["code"].startswith("SOURCE")


@pytest.mark.parametrize("config", [CONFIG, PEER], ids=["example", "peer"])
async def test_a_list_root_whose_only_source_failed_is_null_both_ways(config: Path, tmp_path: Path) -> None:
    """No source answered `posts`: an empty list would claim there are no posts. The root is null
    (`[Post]` may be) and its error points at it, on either path, byte for byte. (The compiled path
    used to make `data` null here while strawberry's answered `{"posts": null}`.)"""
    data, switch = _breakable("/posts")
    switch["down"] = False
    async with serve(data) as base, _gateway(_without_retries(config, tmp_path), {"UPSTREAM": base}) as (app, url):
        query = "{posts{id,title,user{id,name}}}"
        await _both(app, url, query)  # the document is learned while the source answers
        switch["down"] = True
        slow, fast, compiled = await _both(app, url, query)
        assert compiled and _timeless(fast) == _timeless(slow)
        answer = orjson.loads(fast)
        assert answer["data"] == {"posts": None}
        (error,) = answer["errors"]
        assert error["path"] == ["posts"] and error["locations"] == [{"line": 1, "column": 2}]
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "upstream"}


async def test_one_connection_makes_two_upstream_calls_with_the_peer_config() -> None:
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(PEER, {"UPSTREAM": base}) as (app, url):
        query = "{posts{id,userId,title,user{id,name,email}}}"
        await _both(app, url, query)
        data[LOG].clear()
        async with aiohttp.ClientSession() as session:
            await _post(session, url, query)
        assert sorted(c.split("?")[0] for c in data[LOG]) == ["/posts", "/users"]


DEMO_QUERIES = [
    "{ warranties { policyNumber } }",
    "{ warranties { policyNumber status endsOn customer { name email } } }",
    '{ warranty(policyNumber: "W-1001") { policyNumber } }',
]


async def test_the_demo_answers_the_same_both_ways(tmp_path: Path) -> None:
    files = build_demo(tmp_path)
    config = tmp_path / "demo.yaml"
    config.write_text(demo_config_text(), "utf-8")
    key = secrets.token_urlsafe(18)
    crm, port = await serve_crm(files.crm, key, host="127.0.0.1", port=0)
    env = {"ONEPANE_CRM_URL": f"http://127.0.0.1:{port}", "ONEPANE_CRM_API_KEY": key}
    try:
        async with _gateway(config, env) as (app, url):
            queries = [*DEMO_QUERIES, *(p.read_text("utf-8") for p in sorted(
                (Path(__file__).resolve().parents[2] / "federation" / "demo" / "queries").glob("*.graphql")))]
            for query in queries:
                slow, fast, _ = await _both(app, url, query)
                assert _timeless(fast) == _timeless(slow), query
            _, _, compiled = await _both(app, url, DEMO_QUERIES[0])
            assert compiled
    finally:
        await crm.cleanup()


async def test_a_document_of_constants_is_answered_from_its_first_body_only_without_live_extensions() -> None:
    """`{greet}` calls no source: with `extensions.sources` off its body never changes and is built
    once; with them on, each answer still shows every source's breaker as it is now."""
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base:
        async with _gateway(PEER, {"UPSTREAM": base}) as (app, url):
            slow, fast, compiled = await _both(app, url, "{greet}")
            async with aiohttp.ClientSession() as session:
                again = await _post(session, url, "{greet}")
            assert compiled and fast == slow == again == b'{"data":{"greet":"Hello World!"}}'
        async with _gateway(CONFIG, {"UPSTREAM": base}) as (app, url):
            slow, fast, compiled = await _both(app, url, "{greet}")
            assert compiled and _timeless(fast) == _timeless(slow)
            breaker = app[GATEWAY].guards["upstream"].breaker
            breaker._trip()  # as after a run of failures
            async with aiohttp.ClientSession() as session:
                tripped = orjson.loads(await _post(session, url, "{greet}"))
            assert tripped["data"] == {"greet": "Hello World!"}
            assert tripped["extensions"]["sources"]["upstream"]["breaker"] == "open"


async def test_a_body_sent_again_skips_parsing_and_any_other_body_is_still_read_in_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same request bytes always mean the same document, so a repeat goes straight to its plan;
    a body that differs in any byte (here: variables) is parsed and its variables bound to the plan."""
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(PEER, {"UPSTREAM": base}) as (app, url):
        query = "{posts{title}}"
        slow, fast, compiled = await _both(app, url, query)
        assert compiled and fast == slow
        parsed: list[bytes] = []
        real = FastPath._parsed

        def counting(self: FastPath, raw: bytes, role: str | None) -> Any:
            parsed.append(raw)
            return real(self, raw, role)

        monkeypatch.setattr(FastPath, "_parsed", counting)
        async with aiohttp.ClientSession() as session:
            assert await _post(session, url, query) == fast
            assert await _post(session, url, query) == fast
            assert parsed == []
            body = orjson.dumps({"query": query, "variables": {"unused": 1}})
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                answer = await response.json()
        assert parsed == [body]  # parsed, and answered from the same plan
        assert answer["data"] == orjson.loads(fast)["data"]


async def test_compiled_requests_reach_prometheus_within_a_second_without_a_scrape() -> None:
    """With several workers a scrape reads every worker's shared values, so each process hands
    its tally over on its own, every second, not only when it is the one scraped."""
    from prometheus_client import REGISTRY

    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(PEER, {"UPSTREAM": base}) as (app, url):
        query = "query Tallied { greet }"
        await _both(app, url, query, "Tallied")

        def counted() -> float:
            return REGISTRY.get_sample_value("onepane_requests_total",
                                             {"operation": "Tallied", "outcome": "ok"}) or 0.0

        await asyncio.sleep(1.5)  # what _both sent is handed over by now
        before = counted()
        async with aiohttp.ClientSession() as session:
            for _ in range(5):
                await _post(session, url, query, "Tallied")
        deadline = asyncio.get_running_loop().time() + 3
        while counted() < before + 5 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert counted() == before + 5


async def test_a_named_document_sent_without_its_operation_name_takes_the_compiled_path() -> None:
    """Clients often send `query C(...) {...}` with no operationName; strawberry then reports the
    document's own name, and the document must still be known as validated for the request."""
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(PEER, {"UPSTREAM": base}) as (app, url):
        query = "query ByUser($u: Int) { posts(userId: $u) { id title } }"
        slow, fast, compiled = await _both(app, url, query, None, {"u": 3})
        assert compiled and fast == slow
        assert [p["id"] for p in orjson.loads(fast)["data"]["posts"]] == [p["id"] for p in posts if p["userId"] == 3]


async def test_variables_that_do_not_fit_are_answered_by_strawberry_with_its_coded_error() -> None:
    """A planned document whose variables do not coerce: the compiled path declines the request,
    and the caller gets strawberry's BAD_USER_INPUT naming the variable; the next good request
    takes the compiled path again."""
    posts, users = build()
    data = upstream(posts, users)
    async with serve(data) as base, _gateway(PEER, {"UPSTREAM": base}) as (app, url):
        query = "query ByUser($u: Int) { posts(userId: $u) { id } }"
        _, _, compiled = await _both(app, url, query, "ByUser", {"u": 1})
        assert compiled
        slow, answer, compiled = await _both(app, url, query, "ByUser", {"u": "one"})
        assert not compiled and answer == slow
        (error,) = orjson.loads(answer)["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "$u"}
        _, _, compiled = await _both(app, url, query, "ByUser", {"u": 2})
        assert compiled
