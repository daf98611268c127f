"""The rest connector's options: a table of invalid configs, each with the message it must give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.rest import RestConnector
from connectors.rest.errors import parse_retry_after
from connectors.sdk import ConnectorContext
from federation.model import builtin_model


def options(entity: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    mapping = {"path": "/contacts", "id": {"path": "id"}, "keys": {"email": {"path": "email"}}}
    return {"base_url": "https://crm.example.com/api", **top,
            "entities": {"Customer": {**mapping, **(entity or {})}}}


INVALID = [
    ("unknown option", options(retries=3), "Extra inputs are not permitted"),
    ("no scheme", options(base_url="crm.example.com"), "absolute http:// or https:// URL"),
    ("secret in URL", options(base_url="https://crm.example.com/?key=x"), "use 'auth'"),
    ("key in two places", options(auth={"type": "api_key", "header": "X-Key", "query": "k", "value": "v"}),
     "exactly one of 'header' or 'query'"),
    ("unknown auth", options(auth={"type": "oauth2", "token": "t"}), "api_key', 'bearer', 'basic'"),
    ("path style without {value}", options({"lookup": {"id": {"style": "path", "path": "/c"}}}),
     "needs a 'path' containing '{value}'"),
    ("comma without param", options({"lookup": {"id": {"style": "comma"}}}), "needs 'param'"),
    ("lookup on an unmapped key", options({"lookup": {"keys": {"phone": {"param": "phone"}}}}),
     "lookup.keys.phone: not a mapped key (valid: email)"),
    ("bad JMESPath", options({"records": "results[?"}), "'results[?' is not a valid JMESPath"),
    ("bad field path", options({"fields": {"name": {"path": "a..b"}}}), "'a..b' is not a valid JMESPath"),
    ("relative endpoint", options({"path": "contacts"}), "must start with '/'"),
    ("unknown pagination", options({"pagination": {"type": "token"}}), "'none', 'page', 'offset'"),
    ("cursor without path", options({"pagination": {"type": "cursor", "cursor_param": "after"}}),
     "cursor_path"),
    ("unknown search op", options({"search": {"params": {"name": {"param": "q", "op": "regex"}}}}),
     "'eq', 'prefix', 'gte' or 'lte'"),
    ("zero concurrency", options(max_concurrency=0), "greater than or equal to 1"),
]


@pytest.mark.parametrize(("case", "raw", "message"), INVALID, ids=[row[0] for row in INVALID])
def test_invalid_options(case: str, raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RestConnector.validate_options(raw)
    assert message in str(caught.value), case


def test_full_example_validates_and_hides_secrets(tmp_path: Path) -> None:
    raw = options(
        {"records": "results", "query": {"archived": "false"},
         "lookup": {"id": {"style": "post", "param": "ids", "path": "/contacts/batch"},
                    "keys": {"email": {"style": "repeat", "param": "email", "max_batch": 50}}},
         "search": {"params": {"name": [{"param": "name_from", "op": "gte"},
                                        {"param": "name_to", "op": "lte"}],
                               "email": {"param": "email"}},
                    "query": {"sort": "id"}},
         "pagination": {"type": "page", "page_param": "p", "size_param": "n", "size": 50}},
        auth={"type": "api_key", "header": "X-Api-Key", "value": "hunter2"},
        headers={"User-Agent": "onepane"},
    )
    parsed = RestConnector.validate_options(raw)
    assert "hunter2" not in repr(parsed) and "hunter2" not in str(parsed.model_dump())
    context = ConnectorContext(model=builtin_model(), base_dir=tmp_path)
    caps = RestConnector("crm", parsed, context).capabilities().entities["Customer"]
    assert caps.lookups == frozenset({"id", "key:email"})
    assert caps.filters == {"name": frozenset({"gte", "lte"}), "email": frozenset({"eq"})}


def test_problems_name_unknown_search_fields(tmp_path: Path) -> None:
    raw = options({"search": {"params": {"nickname": {"param": "nick"}}}})
    context = ConnectorContext(model=builtin_model(), base_dir=tmp_path)
    connector = RestConnector("crm", RestConnector.validate_options(raw), context)
    (problem,) = connector.problems()
    assert problem.startswith("entities.Customer.search.params.nickname: Customer has no field")


def test_retry_after_forms() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
