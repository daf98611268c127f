"""Contact data typed into free text (interaction summaries, case subjects) is redacted for a
role that masks contacts, over GraphQL and through the MCP tools (the same schema)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from federation.demo.crm import DATA_KEY
from federation.demo.data import _case, _interaction
from tests.security.conftest import SECURITY, api_key, secured_config
from tests.stories.conftest import LiveDemo, post

SUMMARY = "Please call me back on 07700 900101 or write to ann.lee@example.com, card 4111 1111 1111 1111"
QUERY = """{ customer(id: "crm:C-1001") {
  interactions { id summary } cases { id subject }
} }"""


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    live = LiveDemo(tmp_path_factory.mktemp("chatty"), secured_config(SECURITY))
    data: dict[str, list[dict[str, Any]]] = live.handle.crm.app[DATA_KEY]
    data["interactions"].append(_interaction("INT-9901", "C-1001", "CASE-9901", "email", "in",
                                             "2025-12-01T09:00:00Z", SUMMARY))
    data["cases"].append(_case("CASE-9901", "C-1001", "Call back on +44 7700 900101 (ann.lee@example.com)",
                               "open", None, None, "2025-12-01T09:00:00Z", "2025-12-01T09:00:00Z"))
    yield live
    live.close()


def _texts(body: dict[str, Any]) -> str:
    customer = body["data"]["customer"]
    return json.dumps([customer["interactions"], customer["cases"]])


def test_agent_gets_contact_data_in_free_text_redacted(chatty: LiveDemo) -> None:
    body = post(chatty.handle.url, QUERY, headers=api_key("agent"))
    assert body.get("errors") is None
    text = _texts(body)
    assert "INT-9901" in text and "CASE-9901" in text  # record ids stay readable
    for secret in ("ann.lee@", "900101", "7700 900101", "4111 1111 1111 1111"):
        assert secret not in text
    summary = next(i["summary"] for i in body["data"]["customer"]["interactions"] if i["id"].endswith("INT-9901"))
    assert summary == ("Please call me back on ********101 or write to a***@example.com, card ****1111")


def test_admin_reads_free_text_as_written(chatty: LiveDemo) -> None:
    body = post(chatty.handle.url, QUERY, headers=api_key("admin"))
    assert SUMMARY in _texts(body)


def test_redaction_follows_the_role_setting(tmp_path: Path) -> None:
    security = json.loads(json.dumps(SECURITY))
    security["roles"]["agent"]["redact"] = ["card"]
    live = LiveDemo(tmp_path, secured_config(security))
    try:
        live.handle.crm.app[DATA_KEY]["interactions"].append(
            _interaction("INT-9901", "C-1001", None, "email", "in", "2025-12-01T09:00:00Z", SUMMARY))
        text = _texts(post(live.handle.url, QUERY, headers=api_key("agent")))
    finally:
        live.close()
    assert "ann.lee@example.com" in text and "4111 1111 1111 1111" not in text
