"""The demo's real sources (SQLite files, the CRM over HTTP) and the gateway, on loopback."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson
import pytest

from federation.demo.run import DemoHandle, running_demo

QUERIES = Path(__file__).resolve().parents[2] / "federation" / "demo" / "queries"


class LiveDemo:
    """`federation demo` in a background thread with its own event loop."""

    def __init__(self, folder: Path, config_text: str | None = None) -> None:
        self.config_text = config_text
        self.loop = asyncio.new_event_loop()
        self._ready: Future[DemoHandle] = Future()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(folder),), daemon=True)
        self._thread.start()
        self.handle = self._ready.result(timeout=30)

    async def _main(self, folder: Path) -> None:
        try:
            async with running_demo(folder, config_text=self.config_text) as handle:
                self._ready.set_result(handle)
                await self._stop.wait()
        except BaseException as exc:  # surface start-up failures to the test
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


def post(url: str, query: str, variables: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> dict[str, Any]:
    """POST a GraphQL document over HTTP; the decoded JSON body (200 expected)."""
    status, result = post_raw(url, query, variables, headers)
    assert status == 200, result
    return result


def post_raw(url: str, query: str, variables: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """POST and return (status, decoded JSON body) whatever the status."""
    data = body if body is not None else orjson.dumps({"query": query, "variables": variables or {}})
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, orjson.loads(raw)
        except orjson.JSONDecodeError:
            return error.code, {"raw": raw.decode("utf-8", "replace")}


def story(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text("utf-8")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    live = LiveDemo(tmp_path_factory.mktemp("demo"))
    yield live
    live.close()
