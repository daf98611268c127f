"""The demo CRM / helpdesk: a real HTTP service (aiohttp) over `crm.json`.

Its API is its own, as a vendor's would be:

- every request needs the header `X-Api-Key` (else 401 `{"error": {...}}`);
- `GET /api/v2/contacts` filtered by `ids`, `email`, `phone`, `loyalty`, `store_customer_no`;
- `GET /api/v2/cases` filtered by `ids`, `contact_ids`, `order_ref`, `status`;
- `GET /api/v2/interactions` filtered by `ids`, `contact_ids`, `case_ids`, `channel`;
- every filter takes a comma-separated list (or the parameter repeated) and several filters
  combine with AND; emails match case-insensitively and without spaces against any of a
  contact's emails, phones match in E.164 (`federation.keys.normalize_phone`), loyalty
  numbers, store customer numbers and order refs match as upper-case letters and digits
  (`federation.keys.normalize_code`);
- lists answer `{"data": [...], "meta": {"page": n, "per_page": k, "next_page": n+1 | null,
  "total": t}}`, with `page` (from 1) and `per_page` (default 50, at most 100);
- `GET /api/v2/health` answers `{"status": "ok"}` without a key.

Run standalone: `python -m federation.demo.crm DATA API_KEY --port N`.
"""

from __future__ import annotations

import argparse
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from federation.keys import normalize_code, normalize_email, normalize_phone

__all__ = ["create_app", "main", "serve_crm"]

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
API_PREFIX = "/api/v2"

Record = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DATA_KEY = web.AppKey("crm_data", dict)
API_KEY = web.AppKey("crm_api_key", str)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _params(request: web.Request) -> dict[str, list[str]]:
    """Query parameters with comma lists split.

    `+` means a space (form encoding), except a leading raw `+` in a phone value, which is the
    international prefix a client forgot to escape (`?phone=+447700900505`).
    """
    out: dict[str, list[str]] = {}
    for part in request.rel_url.raw_query_string.split("&"):
        if not part:
            continue
        raw_name, _, raw = part.partition("=")
        name = unquote_plus(raw_name)
        values = []
        for item in raw.split(","):
            if name == "phone" and item.startswith("+"):
                values.append("+" + unquote_plus(item[1:]))
            else:
                values.append(unquote_plus(item))
        out.setdefault(name, []).extend(v for v in values if v.strip())
    return out


def _norm_set(values: Iterable[str], normalizer: Callable[[str, str], str | None]) -> set[str]:
    keys = {normalizer(v, "GB") for v in values}
    keys.discard(None)
    return {k for k in keys if k is not None}


def _page(request: web.Request, items: list[Record]) -> web.Response:
    params = request.rel_url.query
    try:
        page = int(params.get("page", "1"))
        per_page = int(params.get("per_page", str(DEFAULT_PER_PAGE)))
    except ValueError:
        return _error(400, "bad_request", "page and per_page must be integers")
    if page < 1 or per_page < 1:
        return _error(400, "bad_request", "page and per_page must be at least 1")
    per_page = min(per_page, MAX_PER_PAGE)
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    next_page = page + 1 if start + per_page < len(items) else None
    return web.json_response(
        {
            "data": chunk,
            "meta": {
                "page": page,
                "per_page": per_page,
                "next_page": next_page,
                "total": len(items),
            },
        },
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
    )


def _filter(
    items: list[Record],
    wanted: set[str] | None,
    value_of: Callable[[Record], Iterable[str | None]],
) -> list[Record]:
    if wanted is None:
        return items
    return [item for item in items if any(v in wanted for v in value_of(item) if v)]


def _one(normalizer: Callable[[str, str], str | None], field: str) -> Callable[
    [Record], list[str | None]
]:
    def value_of(item: Record) -> list[str | None]:
        raw = item.get(field)
        return [normalizer(str(raw), "GB")] if raw else []

    return value_of


def _exact(value: str, region: str = "") -> str | None:
    text = value.strip()
    return text or None


def _lower(value: str, region: str = "") -> str | None:
    text = value.strip().lower()
    return text or None


# (parameter, normalizer, record field) per collection; `emails` is a list field.
_FILTERS: dict[str, list[tuple[str, Callable[[str, str], str | None], str]]] = {
    "contacts": [
        ("ids", _exact, "id"),
        ("email", normalize_email, "emails"),
        ("phone", normalize_phone, "phone"),
        ("loyalty", normalize_code, "loyalty_no"),
        ("store_customer_no", normalize_code, "store_customer_no"),
    ],
    "cases": [
        ("ids", _exact, "id"),
        ("contact_ids", _exact, "contact_id"),
        ("order_ref", normalize_code, "order_ref"),
        ("status", _lower, "status"),
    ],
    "interactions": [
        ("ids", _exact, "id"),
        ("contact_ids", _exact, "contact_id"),
        ("case_ids", _exact, "case_id"),
        ("channel", _lower, "channel"),
    ],
}


def _list_handler(collection: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        items: list[Record] = request.app[DATA_KEY][collection]
        params = _params(request)
        for name, normalizer, field in _FILTERS[collection]:
            if name not in params:
                continue
            wanted = _norm_set(params[name], normalizer)
            if field == "emails":

                def value_of(item: Record) -> list[str | None]:
                    return [normalize_email(str(e)) for e in item.get("emails") or []]

                items = _filter(items, wanted, value_of)
            else:
                items = _filter(items, wanted, _one(normalizer, field))
        return _page(request, items)

    return handler


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == f"{API_PREFIX}/health":
        return await handler(request)
    given = request.headers.get("X-Api-Key", "")
    if not given or not hmac.compare_digest(given.encode(), request.app[API_KEY].encode()):
        return _error(401, "unauthorized", "missing or invalid X-Api-Key header")
    return await handler(request)


async def _health(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


def _load(data_path: Path) -> dict[str, list[Record]]:
    document = json.loads(Path(data_path).read_text(encoding="utf-8"))
    return {name: list(document.get(name, [])) for name in ("contacts", "cases", "interactions")}


def create_app(data_path: Path | str, api_key: str) -> web.Application:
    """The CRM as an aiohttp application over the JSON file at `data_path`."""
    app = web.Application(middlewares=[_auth])
    app[DATA_KEY] = _load(Path(data_path))
    app[API_KEY] = api_key
    app.router.add_get(f"{API_PREFIX}/health", _health)
    for collection in ("contacts", "cases", "interactions"):
        app.router.add_get(f"{API_PREFIX}/{collection}", _list_handler(collection))
    return app


async def serve_crm(
    data_path: Path | str, api_key: str, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start the CRM on host:port (0 = any free port); returns the runner and the bound port."""
    runner = web.AppRunner(create_app(data_path, api_key))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = next(int(addr[1]) for addr in runner.addresses if isinstance(addr, tuple))
    return runner, bound


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Onepane demo CRM over HTTP.")
    parser.add_argument("data", type=Path, help="path to crm.json")
    parser.add_argument("api_key", help="the X-Api-Key clients must send")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    web.run_app(create_app(args.data, args.api_key), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
