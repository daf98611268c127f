"""One execution engine: every example, story, docs and generated document the demo's schema
accepts answers byte for byte the same on the compiled path (federation/api/fastpath.py) as on
strawberry's, and the compiled path answers every one whose shape the planner plans (pages,
input objects, the stories, walk-ins), while strawberry keeps the others (mutations,
introspection, directives, `possibleMatches`)."""

from __future__ import annotations

import ast
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web
from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, parse, validate

from federation.api.fastpath import FastPath
from federation.console import Documents
from federation.demo.crm import serve_crm
from federation.demo.data import build_demo
from federation.demo.run import demo_config_text
from federation.server import GATEWAY
from tests.integration.test_fastpath import _both, _gateway, _timeless, _view

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "federation" / "demo" / "queries", ROOT / "examples" / "queries",
           ROOT / "federation" / "agents" / "queries"]
# A document the planner must leave to strawberry, by what it asks for: written out here, apart
# from the planner, so that a planner declining everything (or planning too much) fails.
DECLINED = re.compile(r"\bmutation\b|__schema|__type\b|@|\bpossibleMatches\b")
# Documents the compiled path must answer itself (at least one of each), whatever else escapes to
# strawberry at run time: pages, input-object and enum arguments, the story 4 query, a walk-in.
MUST_COMPILE = {
    "story 4: purchases(filter:) with nodes and pageInfo": re.compile(r"query NoReceipt\b"),
    "a walk-in: customers(match:)": re.compile(r"query WalkIn\b"),
    "purchaseStats(groupBy:)": re.compile(r"\bpurchaseStats\s*\("),
    "customerList with edges or nodes": re.compile(r"\bcustomerList\b"),
    "pages' edges and cursors": re.compile(r"\bedges\s*\{\s*cursor"),
}
# `purchaseStats` counts the source records it read differently from run to run, on either path (the
# label look-ups meet the search's records or not): its answers are compared without those counts.
UNSTEADY = re.compile(r"\bpurchaseStats\b")
# Values for the variables these documents declare, by name (a customer the demo holds).
VARIABLES: dict[str, Any] = {
    "e": "  Ann.Lee@Example.com ", "email": "ann.lee@example.com", "id": "crm:C-1001", "customerId": "crm:C-1001",
    "phone": "020 7946 0777", "name": "ann", "sourceRef": "crm:C-1001", "orderNumber": "A-10001",
    "loyaltyNumber": "6340 0001 0101", "ref": "crm:C-1001",
    "cardLast4": "4417", "placedFrom": "2025-11-18T16:30:00+00:00", "placedTo": "2025-11-18T17:00:00+00:00",
    "amount": "89.99", "first": 5, "by": "CHANNEL", "top": 3,
    # With a filter, the analyst's console search meets a FORBIDDEN on a non-null field while
    # relations load: graphql-core cancels the resolvers left, which once cancelled a load other
    # resolvers shared and dropped the connection with no answer (federation/engine/loader.py).
    "filter": {"source": "pos"},
}
PAGES = ("query Pages($after: String) { purchases(first: 3, after: $after) { edges { cursor node { id placedAt "
         "customer { id name } } } pageInfo { hasNextPage endCursor } } customerList(first: 2, after: $after) { "
         "totalCount truncated edges { cursor node { id } } nodes { name } pageInfo { hasNextPage endCursor } } }")
C360 = "query C($e: String!) { customers(email: $e) { id name purchases { orderNumber total { amount currency } } } }"


def _documents_in_python(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            yield node.value


def _documents_in_markdown(path: Path) -> Iterator[str]:
    yield from re.findall(r"```graphql\n(.*?)```", path.read_text("utf-8"), re.S)


def _valid(text: str, schema: GraphQLSchema) -> DocumentNode | None:
    try:
        document = parse(text)
    except Exception:
        return None
    return None if validate(schema, document) else document


def _harvest(schema: GraphQLSchema, generated: list[str]) -> list[str]:
    texts: list[str] = [p.read_text("utf-8") for folder in FOLDERS for p in sorted(folder.glob("*.graphql"))]
    for path in sorted((ROOT / "tests" / "stories").glob("*.py")):
        texts += _documents_in_python(path)
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        texts += _documents_in_markdown(path)
    texts += [*generated, C360, PAGES]
    return list(dict.fromkeys(t for t in texts if _valid(t, schema) is not None))


def _operation(text: str) -> str | None:
    operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    return operations[0].name.value if operations and operations[0].name else None


def _variables(text: str) -> dict[str, Any]:
    names = re.findall(r"\$(\w+)\s*:", text)
    return {n: VARIABLES[n] for n in names if n in VARIABLES}


def _same(answer: bytes, slow: bytes, compiled: bool) -> bool:
    """Byte-equal but for timing. A declined document is answered by strawberry both times, and
    strawberry's own answers differ from run to run where calls meet or resolvers complete in
    another order: the records each source sent (`purchaseStats` pushes down or searches: seen 50
    vs 51 shop records), the order of errors, and, under a non-null field, which of several
    FORBIDDEN errors is the one kept (seen Case.id, then Payment.id). There the data, the
    extensions but records, and the set of error codes must match."""
    if compiled:
        return _timeless(answer) == _timeless(slow)
    first, second = orjson.loads(_timeless(answer)), orjson.loads(_timeless(slow))
    for body in (first, second):
        for stats in (body.get("extensions") or {}).get("sources", {}).values():
            stats["records"] = 0
        body["errors"] = sorted({(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or ()})
    return bool(first == second)


def _kept_or_field_error(answer: bytes) -> bool:
    """Strawberry's answer carries a value kept as written or a field's read error: the executor
    gives those back to strawberry at run time (federation/api/executor.py)."""
    return any((e.get("extensions") or {}).get("code") == "SOURCE_DATA_ERROR" and len(e.get("path") or ()) > 1
               for e in orjson.loads(answer).get("errors") or ())


@asynccontextmanager
async def _demo(tmp_path: Path, security: dict[str, Any] | None = None) -> AsyncIterator[tuple[web.Application, str]]:
    files = build_demo(tmp_path)
    config = tmp_path / "demo.yaml"
    text = demo_config_text()
    if security is not None:
        settings = yaml.safe_load(text)
        settings["security"] = security
        text = yaml.safe_dump(settings, sort_keys=False)
    config.write_text(text, "utf-8")
    key = secrets.token_urlsafe(18)
    crm, port = await serve_crm(files.crm, key, host="127.0.0.1", port=0)
    env = {"ONEPANE_CRM_URL": f"http://127.0.0.1:{port}", "ONEPANE_CRM_API_KEY": key}
    try:
        async with _gateway(config, env) as (app, url):
            yield app, url
    finally:
        await crm.cleanup()


def _known(app: web.Application, role: str) -> list[str]:
    fast = _view(app).fast
    assert isinstance(fast, FastPath)
    gateway = app[GATEWAY]
    generated = Documents(gateway.model, fast.schema, gateway.config.security).for_role(role)
    assert generated is not None
    return _harvest(fast.schema, list(generated.documents.values()))


async def test_every_known_document_answers_the_same_and_takes_the_compiled_path_when_planned(tmp_path: Path) -> None:
    async with _demo(tmp_path) as (app, url):
        documents = _known(app, "demo")
        assert len(documents) >= 40  # the harvest found the stories, docs and generated documents
        compiled_count = 0
        taken = dict.fromkeys(MUST_COMPILE, False)
        for text in documents:
            slow, answer, compiled = await _both(app, url, text, _operation(text), _variables(text))
            for what, pattern in MUST_COMPILE.items():
                taken[what] = taken[what] or (compiled and pattern.search(text) is not None)
            assert _same(answer, slow, compiled and not UNSTEADY.search(text)), text
            expected = DECLINED.search(re.sub(r'#[^\n]*|"(?:[^"\\]|\\.)*"', "", text)) is None
            if expected and not compiled:
                assert _kept_or_field_error(slow), f"the planner declined a document it should plan:\n{text}"
            else:
                assert compiled == expected, f"compiled={compiled}:\n{text}"
            compiled_count += compiled
        assert compiled_count >= 40
        assert [what for what, done in taken.items() if not done] == []
        for email in ["ann.lee@example.com", "  BEN.KHAN@example.com", "nobody@example.com", "not an email"]:
            slow, answer, compiled = await _both(app, url, C360, "C", {"e": email})
            assert compiled and _timeless(answer) == _timeless(slow), email
        after = None
        for _ in range(3):  # following the cursors: each page the same on both paths
            slow, answer, compiled = await _both(app, url, PAGES, "Pages", {"after": after})
            assert compiled and _timeless(answer) == _timeless(slow), after
            after = orjson.loads(answer)["data"]["purchases"]["pageInfo"]["endCursor"]
            assert after is not None


KEYS = {"agent": "agent-key-0123456789abcdef", "support": "support-key-0123456789abcdef",
        "analyst": "analyst-key-0123456789abcdef"}
ROLES: dict[str, Any] = {
    "api_keys": [{"name": f"{role}-ui", "sha256": hashlib.sha256(key.encode()).hexdigest(), "role": role}
                 for role, key in KEYS.items()],
    "roles": {  # tests/security/conftest.py's roles, without the audit log (audited requests stay with strawberry)
        "agent": {"allow": ["*"], "deny": ["Query.sources"],
                  "mask": {"Customer.emails": "email", "Customer.phones": "phone", "Payment.cardLast4": "last4",
                           "Customer.dateOfBirth": "year", "SourceRecord.linkedBy": "contacts",
                           "TimelineEntry.summary": "contacts"}},
        "support": {"allow": ["*"],
                    "deny": ["Query.sources", "Customer.name", "Customer.phones", "Purchase.total", "Payment.amount"]},
        "analyst": {"allow": ["Query.purchases", "Query.purchaseStats", "PurchaseStats.*", "PurchaseGroup.*",
                              "Purchase.*", "LineItem.*", "Store.*", "Payment.kind", "Payment.amount"],
                    "denied": "error"},
    },
}


async def test_roles_that_mask_deny_and_redact_get_the_same_bytes_from_the_compiled_path(tmp_path: Path) -> None:
    """The role's decisions are planned in with FieldGuard's own functions: masks, free-text
    redaction, denied fields as null / [], derived values filtered, arguments that would reveal a
    denied field refused; `denied: error` and the few shapes FieldGuard decides per value stay
    with strawberry."""
    async with _demo(tmp_path, ROLES) as (app, url):
        for role, key in KEYS.items():
            headers = {"X-Api-Key": key}
            compiled_count = 0
            for text in _known(app, role):
                slow, answer, compiled = await _both(app, url, text, _operation(text), _variables(text), headers)
                assert _same(answer, slow, compiled and not UNSTEADY.search(text)), (role, text)
                compiled_count += compiled
            for email in ["ann.lee@example.com", "  BEN.KHAN@example.com", "not an email"]:
                slow, answer, compiled = await _both(app, url, C360, "C", {"e": email}, headers)
                assert _timeless(answer) == _timeless(slow), (role, email)
                assert compiled == (role != "analyst"), (role, email)  # the analyst's denials are errors
            if role == "agent":
                masked = orjson.loads(answer)
                assert compiled_count >= 15, role
            elif role == "support":
                assert compiled_count >= 15, role
                masked = orjson.loads((await _both(app, url, C360, "C", {"e": "ann.lee@example.com"}, headers))[1])
                assert masked["data"]["customers"][0]["name"] is None  # denied: null
