"""The MCP server: four approved tools, each one persisted GraphQL document run under the caller's principal.

A tool never builds GraphQL: it checks its arguments, runs its own document from `queries/`
through the gateway's schema (so the role layer, masks, limits and audit apply exactly as on
/graphql) and folds the answer into compact JSON with the sources that answered and what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any

import orjson
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from strawberry import Schema

from federation.agents.arguments import Checks
from federation.agents.result import compact, source_report, summarize_errors
from federation.api.codes import with_codes
from federation.api.context import KEY
from federation.console.documents import Documents
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.errors import NOT_FOUND
from federation.security import PRINCIPAL, Principal

__all__ = ["DOCUMENTS", "PRINCIPAL_SCOPE", "ToolRunner", "build_server"]

PRINCIPAL_SCOPE = "onepane.principal"  # ASGI scope key the bridge fills from the authenticated aiohttp request
MAX_CANDIDATES = 10
MAX_PURCHASES = 10
DOCUMENTS = {name: resources.files(__package__).joinpath(f"queries/{name}.graphql").read_text("utf-8")
             for name in ("find_customer", "customer_360", "find_purchase", "customer_timeline")}
OPERATIONS = {"find_customer": "AgentFindCustomer", "customer_360": "AgentCustomer360",
              "find_purchase": "AgentFindPurchase", "customer_timeline": "AgentCustomerTimeline"}
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


@dataclass
class Outcome:
    """One document's answer, already folded: data, the source report, errors and missing pieces."""

    data: Any
    sources: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def asked(self) -> str:
        names = [*self.sources.get("answered", ()), *self.sources.get("stale", ()), *self.sources.get("failed", {})]
        return ", ".join(names) or "no source"

    def result(self, body: dict[str, Any]) -> CallToolResult:
        payload = compact({**body, "sources": self.sources, "missing": self.missing, "errors": self.errors})
        text = orjson.dumps(payload).decode()
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=payload,
                              is_error=self.failed)

    @property
    def failed(self) -> bool:
        """No data at all, or errors and every root field null (e.g. FORBIDDEN for this role)."""
        real = [e for e in self.errors if e.get("code") != NOT_FOUND]  # nothing matched is an answer
        return self.data is None or bool(real and all(v is None for v in self.data.values()))


class ToolRunner:
    """Runs a tool's persisted document through the gateway's schema, as /graphql would."""

    def __init__(self, gateway: Gateway, schema: Schema, documents: Documents | None = None) -> None:
        self.gateway, self.schema, self.documents = gateway, schema, documents

    def document(self, tool: str, principal: Principal) -> str:
        """customer_360 reads what the served model holds for this role (config fields included)."""
        built = self.documents.for_role(principal.role) if self.documents is not None else None
        generated = built.documents.get(tool) if built is not None else None
        return generated or DOCUMENTS[tool]

    async def run(self, tool: str, variables: dict[str, Any], principal: Principal) -> Outcome:
        request = Request(self.gateway)
        result = await self.schema.execute(self.document(tool, principal), variables,
                                           operation_name=OPERATIONS[tool],
                                           context_value={KEY: request, PRINCIPAL: principal})
        sources = (result.extensions or {}).get("sources")
        if sources is None:  # response_extensions off: the same accounting, straight from the request
            sources = {name: stats.as_json() for name, stats in request.stats.items()}
        formatted = [e.formatted for e in result.errors or ()]
        with_codes(formatted)  # parse and validation codes, as /graphql adds them
        errors, missing = summarize_errors(formatted)
        return Outcome(result.data, source_report(sources), errors, missing)


def _principal(ctx: Context) -> Principal:
    scope = getattr(ctx.request_context.request, "scope", None) or {}
    principal = scope.get(PRINCIPAL_SCOPE)
    if not isinstance(principal, Principal):  # only reachable if the server is mounted without the bridge
        raise ToolError("unauthenticated: this endpoint needs the gateway's credentials")
    return principal


Email = Annotated[str | None, Field(
    description="an email address in any case and spacing; matched exactly after normalizing",
    examples=["ann.lee@example.com"])]
Phone = Annotated[str | None, Field(
    description="a phone number as the customer says it: international (+44 20 7946 0311) or national "
                "(020 7946 0311, read in the gateway's region); spaces, dashes and brackets are ignored",
    examples=["+44 20 7946 0311", "020 7946 0311"])]
Name = Annotated[str | None, Field(
    description="part of a person's name, at least two characters, any case; it may find several customers, "
                "so combine it with another identifier", examples=["Ann Lee"])]
Loyalty = Annotated[str | None, Field(
    description="a loyalty or membership number as printed on the card; spaces and case are ignored",
    examples=["634000020202"])]
OrderNumber = Annotated[str | None, Field(
    description="an order, receipt or invoice number as the customer reads it from an email or receipt",
    examples=["WEB-100231"])]
SourceRef = Annotated[str | None, Field(
    description='one system\'s record as source:localId (the ids find_customer returns)',
    examples=["crm:C-1001", "shop:1"])]
CustomerId = Annotated[str, Field(description='the id find_customer returned, or any source reference '
                                              '(source:localId)', examples=["shop:1", "crm:C-1001"])]


def build_server(runner: ToolRunner) -> MCPServer:
    """The MCP server with the approved tools; nothing else (no resources, no prompts)."""
    server: MCPServer = _without_logging_setup(lambda: MCPServer(
        "onepane", version="0.1.0",
        instructions="Customer data joined across every legacy system. Find the customer first (find_customer "
                     "or find_purchase), then read customer_360 or customer_timeline with the id it returns. "
                     "Each result says which sources answered and what is missing."))

    @server.tool(title="Find a customer", annotations=READ_ONLY, structured_output=False)
    async def find_customer(ctx: Context, email: Email = None, phone: Phone = None, name: Name = None,
                            loyalty_number: Loyalty = None, order_number: OrderNumber = None,
                            source_ref: SourceRef = None) -> CallToolResult:
        """Find unified customers matching every identifier given (at least one); a short list with ids."""
        checks = Checks()
        given = {"email": (email, "email"), "phone": (phone, "phone"), "name": (name, "name"),
                 "loyaltyNumber": (loyalty_number, "loyalty_number"), "orderNumber": (order_number, "order_number"),
                 "sourceRef": (source_ref, "source_ref")}
        variables = {key: checks.text(arg, value) for key, (value, arg) in given.items()}
        variables = {k: v for k, v in variables.items() if v is not None}
        if not variables and not checks.problems:
            checks.problems.append("give at least one of email, phone, name, loyalty_number, order_number, "
                                   "source_ref")
        checks.done()
        outcome = await runner.run("find_customer", variables, _principal(ctx))
        found = [_candidate(c) for c in (outcome.data or {}).get("customers") or ()]
        tried = ", ".join(f'{k} "{v}"' for k, v in variables.items())
        body: dict[str, Any] = {"found": len(found), "customers": found[:MAX_CANDIDATES]}
        if not found and not outcome.failed:
            body["message"] = (f"nothing matched: tried {tried} in {outcome.asked()}; try another identifier "
                               "(email, phone, order number, loyalty number, a source reference) or find_purchase")
        elif len(found) > 1:
            body["ambiguous"] = True
            body["message"] = (f"{len(found)} customers match {tried}; ask for another identifier or pass one id "
                               "to customer_360" + (f" (first {MAX_CANDIDATES} shown)" if len(found) > MAX_CANDIDATES
                                                    else ""))
        return outcome.result(body)

    @server.tool(title="A customer across every system", annotations=READ_ONLY, structured_output=False)
    async def customer_360(ctx: Context, customer_id: CustomerId) -> CallToolResult:
        """One customer as every system knows them: records and why they were linked, conflicts, purchases
        with items, payments and deliveries, and cases."""
        checks = Checks()
        ident = checks.customer_id(customer_id)
        checks.done()
        outcome = await runner.run("customer_360", {"id": ident}, _principal(ctx))
        return outcome.result(_one_customer(outcome, ident, lambda customer: {"customer": customer}))

    @server.tool(title="Find a purchase by card", annotations=READ_ONLY, structured_output=False)
    async def find_purchase(ctx: Context,
                            card_last4: Annotated[str, Field(description="the last four digits of the card that "
                                                                         "paid", examples=["4417"])],
                            placed_from: Annotated[str, Field(
                                description="window start, inclusive: an ISO 8601 time (UTC if no offset) or a date",
                                examples=["2025-11-18T16:30:00+00:00", "2025-11-18"])],
                            placed_to: Annotated[str, Field(
                                description="window end: an ISO 8601 time (exclusive) or a date (that day included); "
                                            "at most 31 days after placed_from",
                                examples=["2025-11-18T17:00:00Z", "2025-11-18"])],
                            amount: Annotated[str | float | None, Field(
                                description="the exact total, a positive number with at most two decimals",
                                examples=["89.99"])] = None) -> CallToolResult:
        """Purchases paid with a card ending in these digits inside a time window (at most 31 days), with their
        customer."""
        checks = Checks()
        digits = checks.last4(card_last4)
        start = checks.instant("placed_from", placed_from)
        end = checks.instant("placed_to", placed_to, end_of_day=True)
        checks.window(start, end)
        total = checks.amount(amount)
        checks.done()
        assert start is not None and end is not None  # done() raised otherwise
        variables = {"cardLast4": digits, "placedFrom": start.isoformat(), "placedTo": end.isoformat(),
                     "amount": None if total is None else str(total), "first": MAX_PURCHASES}
        outcome = await runner.run("find_purchase", variables, _principal(ctx))
        page = (outcome.data or {}).get("purchases") or {}
        nodes = list(page.get("nodes") or [])
        body: dict[str, Any] = {"found": len(nodes), "purchases": nodes,
                                "more": bool((page.get("pageInfo") or {}).get("hasNextPage")) or None}
        if not nodes and not outcome.failed:
            money = f" for {total}" if total is not None else ""
            body["message"] = (f"nothing matched: no purchase{money} with a card ending {digits} between "
                               f"{start.isoformat()} and {end.isoformat()} in {outcome.asked()}; check the time "
                               "zone, widen the window or leave out the amount")
        return outcome.result(body)

    @server.tool(title="A customer's timeline", annotations=READ_ONLY, structured_output=False)
    async def customer_timeline(ctx: Context, customer_id: CustomerId,
                                limit: Annotated[int, Field(ge=1, le=200, description="how many of the newest "
                                                            "entries to return (1 to 200)", examples=[20])] = 50,
                                ) -> CallToolResult:
        """Every dated event for one customer from every system, newest first: purchases, deliveries, emails,
        chats, calls, social messages, cases, with how long the customer waited."""
        checks = Checks()
        ident = checks.customer_id(customer_id)
        checks.done()
        outcome = await runner.run("customer_timeline", {"id": ident}, _principal(ctx))

        def shape(customer: dict[str, Any]) -> dict[str, Any]:
            entries = list(customer.get("timeline") or [])
            return {"customer": {"id": customer.get("id"), "name": customer.get("name")}, "entries": len(entries),
                    "timeline": entries[:limit], "truncated": len(entries) > limit or None}

        return outcome.result(_one_customer(outcome, ident, shape))

    return server


def _without_logging_setup(build: Callable[[], MCPServer]) -> MCPServer:
    """MCPServer() calls logging.basicConfig (a Rich handler at INFO on the root logger); the gateway's
    logging belongs to `federation serve`, so whatever the constructor adds to the root logger is undone."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return build()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _candidate(customer: dict[str, Any]) -> dict[str, Any]:
    """A short candidate: the source records as `source:localId` refs (customer_360 says why they link)."""
    records = customer.pop("sourceRecords", None) or ()
    return {**customer, "records": [f"{r['source']}:{r['localId']}" for r in records]}


def _one_customer(outcome: Outcome, ident: str, shape: Any) -> dict[str, Any]:
    customer = (outcome.data or {}).get("customer")
    if customer:
        body: dict[str, Any] = shape(customer)
        return body
    if outcome.failed:
        return {}
    reason = next((e["message"] for e in outcome.errors if e.get("code") == NOT_FOUND), None)
    return {"found": 0, "message": f"no customer with id {ident!r} in {outcome.asked()}"
                                   + (f" ({reason})" if reason else "") + "; find_customer returns ids"}
