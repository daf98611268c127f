"""The graphql-benchmarks contract, declared in examples/graphql-benchmarks.yaml, over a real
JSONPlaceholder-shaped REST server on loopback: exact JSON, and upstream calls counted."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from aiohttp import web

from federation.api.schema import print_sdl
from federation.config import load_config
from federation.engine.gateway import Gateway
from federation.server import create_app
from tests.conftest import serve_app as serve

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "graphql-benchmarks.yaml"
LOG = web.AppKey("log", list)
DATA = web.AppKey("data", dict)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The three request bodies of graphql-benchmarks, byte for byte.
POSTS_WITH_USERS = '{"operationName":null,"variables":{},"query":"{posts{id,userId,title,user{id,name,email}}}"}'
POSTS_TITLES = '{"operationName":null,"variables":{},"query":"{posts{title}}"}'
GREET = '{"operationName":null,"variables":{},"query":"{greet}"}'

# -- the upstream's data: the generator of /work/shared/bench/upstream/gen_data.py ------------------

WORDS = (  # noqa: SIM905 - the generator's own spelling
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod "
    "tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam "
    "quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo "
    "consequat duis aute irure in reprehenderit voluptate velit esse cillum "
    "fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt "
    "culpa qui officia deserunt mollit anim id est laborum"
).split()
FIRST = ["Ada", "Brook", "Cyrus", "Dana", "Emil", "Fern", "Gael", "Hana", "Ivo", "Juno"]
LAST = ["Lindqvist", "Moreau", "Okafor", "Petrov", "Quint", "Rossi", "Sato", "Tanaka", "Ueda", "Varga"]
CITIES = ["Northbury", "Eastwick", "Southport", "Westhaven", "Midvale"]


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def build(n_users: int = 10, posts_per_user: int = 10) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """JSONPlaceholder-shaped posts and users, the same bytes on every run (seed 20240101)."""
    rng = random.Random(20240101)
    users = []
    for i in range(1, n_users + 1):
        first, last = FIRST[(i - 1) % 10], LAST[(i - 1) % 10]
        username = f"{first.lower()}.{last.lower()}"
        users.append({
            "id": i, "name": f"{first} {last}", "username": username, "email": f"{username}@example.org",
            "address": {"street": f"{rng.randint(1, 999)} {rng.choice(WORDS).title()} Street",
                        "suite": f"Apt. {rng.randint(100, 999)}", "city": rng.choice(CITIES),
                        "zipcode": f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
                        "geo": {"lat": f"{rng.uniform(-90, 90):.4f}", "lng": f"{rng.uniform(-180, 180):.4f}"}},
            "phone": f"1-{rng.randint(200, 999)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
            "website": f"{last.lower()}.example.org",
            "company": {"name": f"{last} Group", "catchPhrase": _sentence(rng, 3, 5), "bs": _sentence(rng, 3, 4)},
        })
    posts = []
    for uid in range(1, n_users + 1):
        for _ in range(posts_per_user):
            body = "\n".join(_sentence(rng, 6, 10) for _ in range(4))
            posts.append({"userId": uid, "id": len(posts) + 1, "title": _sentence(rng, 3, 9), "body": body})
    return posts, users


def expected(posts: list[dict[str, Any]], users: list[dict[str, Any]]) -> dict[str, Any]:
    """The exact `data` each benchmark query must return (gen_data.expected)."""
    by_id = {u["id"]: u for u in users}
    return {
        "posts_with_users": {"posts": [
            {"id": p["id"], "userId": p["userId"], "title": p["title"],
             "user": {k: by_id[p["userId"]][k] for k in ("id", "name", "email")}} for p in posts]},
        "posts_titles": {"posts": [{"title": p["title"]} for p in posts]},
        "greet": {"greet": "Hello World!"},
    }


# -- the upstream server ---------------------------------------------------------------------------


def upstream(posts: list[dict[str, Any]], users: list[dict[str, Any]]) -> web.Application:
    """/posts, /posts/{id}, /users, /users/{id}, and `/users?id=1&id=2` (JSONPlaceholder filters)."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        request.app[LOG].append(request.path_qs)
        return await handler(request)

    def listing(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            rows = request.app[DATA][kind]
            for name in set(request.query):
                wanted = set(request.query.getall(name))
                rows = [r for r in rows if str(r.get(name)) in wanted]
            return web.json_response(rows)
        return handle

    def one(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            found = [r for r in request.app[DATA][kind] if str(r["id"]) == request.match_info["id"]]
            if not found:
                return web.json_response({}, status=404)
            return web.json_response(found[0])
        return handle

    app = web.Application(middlewares=[record])
    app[LOG], app[DATA] = [], {"posts": posts, "users": users}
    for kind in ("posts", "users"):
        app.router.add_get(f"/{kind}", listing(kind))
        app.router.add_get(f"/{kind}/{{id}}", one(kind))
    return app




@asynccontextmanager
async def gateway(config: Path, upstream_url: str) -> AsyncIterator[str]:
    """`federation serve CONFIG` on loopback, its upstream at `upstream_url`."""
    app = create_app(Gateway.from_config(load_config(config, {"UPSTREAM": upstream_url})))
    async with serve(app) as url:
        yield url + "/graphql"


async def ask(url: str, body: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers={"Content-Type": "application/json"}) as response:
        assert response.status == 200
        return orjson.loads(await response.read())  # type: ignore[no-any-return]


def variant(tmp_path: Path, style: str) -> Path:
    """The example config with `User` looked up by `?id=1&id=2` (repeat) instead of `/users/{id}`."""
    data = yaml.safe_load(CONFIG.read_text("utf-8"))
    users = data["sources"]["upstream"]["entities"]["User"]
    users["lookup"]["keys"]["id"] = {"style": style, "param": "id", "max_batch": 100}
    path = tmp_path / f"benchmarks-{style}.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


# -- tests -----------------------------------------------------------------------------------------


async def test_the_three_benchmark_queries_answer_byte_for_byte() -> None:
    posts, users = build()
    want = expected(posts, users)
    app = upstream(posts, users)
    async with serve(app) as base, gateway(CONFIG, base) as url:
        for name, body in (("posts_with_users", POSTS_WITH_USERS), ("posts_titles", POSTS_TITLES),
                           ("greet", GREET)):
            for _ in range(2):
                answer = await ask(url, body)
                assert answer.get("errors") is None, answer["errors"]
                assert orjson.dumps(answer["data"]) == json.dumps(want[name], separators=(",", ":")).encode()


async def test_post_user_is_one_call_per_user_with_path_lookups_and_one_call_in_all() -> None:
    posts, users = build()
    app = upstream(posts, users)
    async with serve(app) as base, gateway(CONFIG, base) as url:
        app[LOG].clear()
        await ask(url, POSTS_WITH_USERS)
        # 100 parents, 10 distinct users: /posts once, then one /users/{id} per distinct user,
        # all from one batched connector lookup (never one per post).
        assert app[LOG].count("/posts") == 1
        assert sorted(c for c in app[LOG] if c.startswith("/users")) == sorted(f"/users/{i}" for i in range(1, 11))
        assert len(app[LOG]) == 11
        app[LOG].clear()
        await ask(url, POSTS_TITLES)
        assert app[LOG] == ["/posts"]


async def test_repeat_style_lookup_batches_100_parents_into_one_call(tmp_path: Path) -> None:
    posts, users = build(n_users=100, posts_per_user=1)  # 100 posts, each by another user
    app = upstream(posts, users)
    async with serve(app) as base, gateway(variant(tmp_path, "repeat"), base) as url:
        app[LOG].clear()
        answer = await ask(url, POSTS_WITH_USERS)
        assert answer.get("errors") is None
        assert answer["data"] == expected(posts, users)["posts_with_users"]
        assert len(app[LOG]) == 2
        assert app[LOG][0] == "/posts"
        assert app[LOG][1].startswith("/users?id=") and app[LOG][1].count("id=") == 100


async def test_declared_lookup_and_filtered_list_roots() -> None:
    posts, users = build()
    app = upstream(posts, users)
    async with serve(app) as base, gateway(CONFIG, base) as url:
        one = await ask(url, json.dumps({"query": "{post(id: 7){id title user{username posts{id}}}}"}))
        assert one["data"]["post"]["id"] == 7
        assert one["data"]["post"]["user"]["username"] == "ada.lindqvist"
        assert [p["id"] for p in one["data"]["post"]["user"]["posts"]] == list(range(1, 11))
        mine = await ask(url, json.dumps({"query": "{posts(userId: 3){id userId}}"}))
        assert [p["id"] for p in mine["data"]["posts"]] == list(range(21, 31))
        missing = await ask(url, json.dumps({"query": "{user(id: 99){name}}"}))
        assert missing["data"] == {"user": None}


def test_the_config_prints_the_benchmark_contract_and_the_builtin_sdl_is_unchanged() -> None:
    sdl = print_sdl(load_config(CONFIG, {}).model)
    for text in ["posts(userId: Int = null): [Post]", "greet: String!", "post(id: Int!): Post",
                 "  id: Int\n  userId: Int\n  title: String\n  body: String\n  user: User\n",
                 "  id: Int\n  name: String\n  username: String\n  email: String\n  phone: String\n  website: String\n",
                 "customer(id: ID!): Customer"]:
        assert text in sdl, text
