"""The demo gateway, open and secured, and the MCP SDK's own client pointed at its /mcp."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from federation.agents import DOCUMENTS
from tests.security.conftest import SECURITY, secured_config
from tests.stories.conftest import LiveDemo

ALLOWED = ("find_customer", "customer_360", "find_purchase")  # customer_timeline is left off the allow-list


def text_of(result: CallToolResult) -> str:
    block = result.content[0] if result.content else None
    return block.text if isinstance(block, TextContent) else ""


def mcp_url(live: LiveDemo) -> str:
    return live.handle.url.replace("/graphql", "/mcp")


async def call(live: LiveDemo, tool: str, arguments: dict[str, Any],
               headers: dict[str, str] | None = None) -> tuple[CallToolResult, dict[str, Any]]:
    """One tool call through the SDK's Streamable HTTP client; the result and its JSON text decoded."""
    async with (httpx2.AsyncClient(headers=headers or {}, timeout=30) as http,
                streamable_http_client(mcp_url(live), http_client=http) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        result = await session.call_tool(tool, arguments)
    text = text_of(result)
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        body = {"text": text}
    return result, body


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    live = LiveDemo(tmp_path_factory.mktemp("agents-demo"))
    yield live
    live.close()


@pytest.fixture(scope="package")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """Keys, roles with masks, audit, and a persisted-query allow-list holding three of the four tools."""
    folder = tmp_path_factory.mktemp("agents-secured")
    allowed = folder / "persisted"
    allowed.mkdir()
    for name in ALLOWED:
        (allowed / f"{name}.graphql").write_text(DOCUMENTS[name], "utf-8")
    security = copy.deepcopy(SECURITY)
    security["limits"]["persisted_queries"] = str(allowed)
    live = LiveDemo(folder, secured_config(security))
    yield live
    live.close()


def audit_path(live: LiveDemo) -> Path:
    return live.handle.folder / "audit.jsonl"
