"""The demo's real sources (SQLite files, the CRM over HTTP) and the gateway, on loopback."""

from __future__ import annotations

import asyncio
import threading
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

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready: Future[DemoHandle] = Future()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(folder),), daemon=True)
        self._thread.start()
        self.handle = self._ready.result(timeout=30)

    async def _main(self, folder: Path) -> None:
        try:
            async with running_demo(folder) as handle:
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


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL document over HTTP; the decoded JSON body."""
    body = orjson.dumps({"query": query, "variables": variables or {}})
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        result: dict[str, Any] = orjson.loads(response.read())
        return result


def story(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text("utf-8")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    live = LiveDemo(tmp_path_factory.mktemp("demo"))
    yield live
    live.close()
