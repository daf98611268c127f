"""The root query fields of the built-in contract; each resolver only asks the engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import strawberry

from federation.api.build import ModelTypes
from federation.api.context import CALLER_POLICY, engine_request
from federation.api.cursor import decode_cursor, encode_cursor
from federation.api.stats import (
    PurchaseGroupBy,
    PurchaseStats,
    check_dimensions,
    check_top,
    purchase_stats,
    searched_and_pushed,
)
from federation.api.types import PageInfo, SourceInfo
from federation.api.walkin import caller_policy, match_input, walk_in
from federation.contract import Condition, SortKey
from federation.engine.request import Request
from federation.engine.residual import matches
from federation.engine.unified import Unified
from federation.errors import NotFound, QueryError
from federation.keys import normalize_code, normalize_email, phone_match_keys
from federation.records import parse_source_ref

__all__ = ["BUILTIN_ROOTS", "NotFound", "RootFunction", "build_query"]

MAX_PAGE = 100


def build_query(types: ModelTypes) -> type:
    """The Query type: customer, customers, purchase(s), case, customerList, purchaseStats, sources.

    Each resolver is one call of its root function, kept in `types.roots` for the compiled path."""
    customer, purchase, case = (types.entities[n] for n in ("Customer", "Purchase", "Case"))
    connection = _connection_type(purchase)
    customer_connection = _connection_type(customer, counted=True)
    purchase_filter = _purchase_filter(types)

    async def resolve_customer(info: strawberry.Info, id: strawberry.ID) -> Any:
        return await BUILTIN_ROOTS["customer"](engine_request(info), {"id": id})

    async def resolve_purchase(info: strawberry.Info, id: strawberry.ID) -> Any:
        return await BUILTIN_ROOTS["purchase"](engine_request(info), {"id": id})

    async def resolve_case(info: strawberry.Info, id: strawberry.ID) -> Any:
        return await BUILTIN_ROOTS["case"](engine_request(info), {"id": id})

    async def resolve_customers(
        info: strawberry.Info,
        email: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        loyaltyNumber: str | None = None,
        orderNumber: str | None = None,
        sourceRef: str | None = None,
        match: Any = None,
    ) -> Any:
        request = engine_request(info)
        request.notes[CALLER_POLICY] = caller_policy(info, request)
        return await BUILTIN_ROOTS["customers"](request, {
            "email": email, "phone": phone, "name": name, "loyaltyNumber": loyaltyNumber,
            "orderNumber": orderNumber, "sourceRef": sourceRef, "match": match})

    resolve_customers.__annotations__["match"] = match_input(types.model.entities["Customer"]) | None

    roots = {**BUILTIN_ROOTS, "purchases": _purchases_root(connection), "purchaseStats": _purchase_stats_root,
             "customerList": _customer_list_root(customer_connection), "sources": _sources_root}
    types.roots = roots  # the compiled path calls the same functions (federation/api/planner.py)

    async def resolve_purchases(info: strawberry.Info, filter: Any = None, first: int = 20,
                                after: str | None = None) -> Any:
        return await roots["purchases"](engine_request(info), {"filter": filter, "first": first, "after": after})

    resolve_purchases.__annotations__["filter"] = purchase_filter | None

    async def resolve_purchase_stats(info: strawberry.Info, groupBy: PurchaseGroupBy,
                                     filter: Any = None, top: int | None = None,
                                     thenBy: PurchaseGroupBy | None = None) -> PurchaseStats:
        return await _purchase_stats_root(engine_request(info), {"groupBy": groupBy, "filter": filter, "top": top,
                                                                 "thenBy": thenBy})

    resolve_purchase_stats.__annotations__["filter"] = purchase_filter | None

    async def resolve_customer_list(info: strawberry.Info, first: int = 20, after: str | None = None) -> Any:
        return await roots["customerList"](engine_request(info), {"first": first, "after": after})

    async def resolve_sources(info: strawberry.Info) -> list[SourceInfo]:
        return await roots["sources"](engine_request(info), {})  # type: ignore[no-any-return]

    fields = {
        "customer": _root(resolve_customer, customer | None,
                          "A customer by the gateway's id or any source reference `source:localId`."),
        "customers": _root(resolve_customers, list[customer] | None,  # type: ignore[valid-type]
                           "Unified customers matching every given argument (inputs are normalized). `match`: a "
                           "walk-in's details, scored across every source by the identity rules, best first."),
        "purchase": _root(resolve_purchase, purchase | None, "A purchase by id or source reference."),
        "purchases": _root(resolve_purchases, connection.cls | None, "Purchases across every source, newest first."),
        "case": _root(resolve_case, case | None, "A case by id or source reference."),
        "customerList": _root(resolve_customer_list, customer_connection.cls | None,
                              "Every unified customer across every source, by id, with the total count."),
        "purchaseStats": _root(resolve_purchase_stats, PurchaseStats | None,
                               "Purchases across every source grouped by channel, source, day, week, month, "
                               "store or customer (and, with `thenBy`, a second of these), with count and "
                               "totals; `top` keeps ties at the cut."),
        "sources": _root(resolve_sources, list[SourceInfo] | None, "Every configured source and its health."),
    }
    return strawberry.type(type("Query", (), fields))


# A root's answer from the engine request and the field's arguments (by GraphQL name; an argument
# not given is absent or None). Strawberry's resolvers and the compiled path (federation/api/
# executor.py) both call these, so what a root answers and which errors it raises live here once.
RootFunction = Callable[[Request, Mapping[str, Any]], Awaitable[Any]]


def _by_id(entity: str) -> RootFunction:
    async def answer(request: Request, given: Mapping[str, Any]) -> Unified | None:
        return await _get(request, entity, str(given["id"]), "id")

    return answer


_CUSTOMER_KEYS = ("email", "phone", "name", "loyaltyNumber", "orderNumber", "sourceRef")


async def _customers_root(request: Request, given: Mapping[str, Any]) -> list[Unified]:
    """`customers(...)`: every given key must match; `match`: a walk-in's details, scored, best first."""
    match = given.get("match")
    walked = await walk_in(request, match, request.notes.get(CALLER_POLICY)) if match is not None else None
    if walked is not None and all(given.get(k) is None for k in _CUSTOMER_KEYS):
        return walked
    found = await _customers(request, *(given.get(k) for k in _CUSTOMER_KEYS))
    return found if walked is None else _intersect([walked, found])


BUILTIN_ROOTS: dict[str, RootFunction] = {
    "customer": _by_id("Customer"),
    "purchase": _by_id("Purchase"),
    "case": _by_id("Case"),
    "customers": _customers_root,
}


def _purchases_root(connection: _Connection) -> RootFunction:
    """`purchases(filter, first, after)`: a page of purchases, newest first, with keyset cursors."""

    async def answer(request: Request, given: Mapping[str, Any]) -> Any:
        units, has_next = await _purchases(request, given.get("filter"), given["first"], given.get("after"))
        edges = [connection.edge(cursor=encode_cursor(u.values.get("placedAt"), u.id), node=u) for u in units]
        end = edges[-1].cursor if edges else None
        return connection.cls(edges=edges, nodes=units, pageInfo=PageInfo(hasNextPage=has_next, endCursor=end))

    return answer


def _customer_list_root(connection: _Connection) -> RootFunction:
    """`customerList(first, after)`: every unified customer, by id, a page at a time, with the total."""

    async def answer(request: Request, given: Mapping[str, Any]) -> Any:
        first, after = given["first"], given.get("after")
        units, total, truncated = await _all_customers(request)
        start = 0
        if after is not None:
            _, last_id = decode_cursor(after)
            start = next((i + 1 for i, u in enumerate(units) if u.id == last_id), len(units))
        if not 1 <= first <= MAX_PAGE:
            raise QueryError(f"first: must be between 1 and {MAX_PAGE}", "first")
        page = units[start:start + first]
        edges = [connection.edge(cursor=encode_cursor(None, u.id), node=u) for u in page]
        info = PageInfo(hasNextPage=start + first < len(units), endCursor=edges[-1].cursor if edges else None)
        return connection.cls(edges=edges, nodes=page, pageInfo=info, totalCount=total, truncated=truncated)

    return answer


async def _purchase_stats_root(request: Request, given: Mapping[str, Any]) -> PurchaseStats:
    """`purchaseStats(groupBy, filter, top, thenBy)`: pushed down where sources aggregate."""
    by, flt, top, then = given["groupBy"], given.get("filter"), given.get("top"), given.get("thenBy")
    check_top(top)
    check_dimensions(by, then)
    if flt is not None and flt.customerId is not None:
        return await purchase_stats(request, await _purchases_in_scope(request, flt), by, top, then=then)
    conditions, sources = _filter_scope(request, flt)
    units, partials = await searched_and_pushed(request, conditions, sources, by, then)
    return await purchase_stats(request, units, by, top, partials, then)


async def _sources_root(request: Request, _given: Mapping[str, Any]) -> list[SourceInfo]:
    """`sources`: every configured source and its health now."""
    gateway = request.gateway
    health = await gateway.health()
    return [
        SourceInfo(name=name, kind=h["kind"], ok=h["ok"], detail=h["detail"] or None,
                   entities=sorted(gateway.capabilities[name].entities), latencyMs=h["ms"],
                   breaker=h["breaker"]["state"], errorRate=h["breaker"]["errorRate"],
                   recentCalls=h["breaker"]["recentCalls"], retriesRefused=h["breaker"]["retriesRefused"])
        for name, h in health.items()
    ]


def _root(resolver: Callable[..., Any], graphql_type: Any, description: str) -> Any:
    return strawberry.field(resolver=resolver, graphql_type=graphql_type, description=description)


class _Connection:
    def __init__(self, cls: type, edge: type) -> None:
        self.cls, self.edge = cls, edge


def _connection_type(node: type, counted: bool = False) -> _Connection:
    name = node.__name__
    edge = strawberry.type(type(f"{name}Edge", (), {"__annotations__": {"cursor": str, "node": node}}))
    annotations: dict[str, Any] = {"edges": list[edge], "nodes": list[node], "pageInfo": PageInfo}  # type: ignore[valid-type]
    if counted:
        annotations |= {"totalCount": int, "truncated": bool}
    cls = strawberry.type(type(f"{name}Connection", (), {"__annotations__": annotations}))
    return _Connection(cls, edge)


def _purchase_filter(types: ModelTypes) -> type:
    annotations = {
        "cardLast4": str | None,
        "placedFrom": datetime | None,
        "placedTo": datetime | None,
        "amount": Decimal | None,
        "channel": types.enums["SalesChannel"] | None,
        "source": str | None,
        "customerId": strawberry.ID | None,
    }
    defaults: dict[str, Any] = dict.fromkeys(annotations)
    defaults["placedFrom"] = strawberry.field(default=None, description=(
        "Purchases placed at or after this time (inclusive). With placedTo the window is half-open "
        "[placedFrom, placedTo), so consecutive windows never count a purchase twice."))
    defaults["placedTo"] = strawberry.field(default=None, description=(
        "Purchases placed strictly before this time (exclusive): a day is placedFrom 00:00, placedTo the next 00:00."))
    return strawberry.input(type("PurchaseFilter", (), {"__annotations__": annotations, **defaults}))


async def _get(request: Request, entity: str, text: str, argument: str) -> Unified | None:
    ref = parse_source_ref(text)
    if ref is None:
        raise QueryError(f"{argument}: '{text}' is not an id; write source:localId, e.g. crm:C-1001", argument)
    if ref.source not in request.gateway.connectors:
        valid = ", ".join(request.gateway.connectors)
        raise QueryError(f"{argument}: no source '{ref.source}' (sources: {valid})", argument)
    # A well-formed id that matches nothing is an answer (null), as `customers(email:)` answers []:
    # an error would make "not there" look like "something went wrong".
    return await request.get(entity, ref)


def _checked(argument: str, value: str, normalizer: Callable[[str, str], str | None], what: str,
             region: str) -> str:
    normal = normalizer(value, region)
    if normal is None:
        raise QueryError(f"{argument}: '{value}' is not {what}", argument)
    return normal


async def _customers(request: Request, email: str | None, phone: str | None, name: str | None,
                     loyalty: str | None, order: str | None, source_ref: str | None) -> list[Unified]:
    region = request.gateway.config.gateway.region
    found: list[list[Unified]] = []
    if email is not None:
        found.append(await request.find("Customer", "email", [_checked("email", email, normalize_email,
                                                                       "an email address", region)]))
    if phone is not None:
        if not phone.strip():
            raise QueryError("phone: give a phone number", "phone")
        # Any other string is a question with an answer: a readable number matches by E.164 and by
        # the digits an unreadable copy holds, anything else by its digits ("28303384290" finds
        # that stored string), and a string with too few digits ("000") matches nothing.
        keys = phone_match_keys(phone, region)
        found.append(await request.find("Customer", "phone", list(keys)) if keys else [])
    if loyalty is not None:
        found.append(await request.find("Customer", "loyaltyNumber", [
            _checked("loyaltyNumber", loyalty, normalize_code, "a loyalty number", region)]))
    if name is not None:
        if len(name.strip()) < 2:
            raise QueryError("name: give at least two characters", "name")
        found.append(await request.search("Customer", [Condition("name", "contains", name)], [], None))
    if order is not None:
        number = _checked("orderNumber", order, normalize_code, "an order number", region)
        purchases = await request.find("Purchase", "orderNumber", [number])
        found.append(await _related_all(request, purchases, "customer"))
    if source_ref is not None:
        found.append(await _customers_by_ref(request, source_ref))
    if not found:
        raise QueryError("customers: give at least one of email, phone, name, loyaltyNumber, orderNumber, sourceRef")
    return _intersect(found)


async def _related_all(request: Request, units: Sequence[Unified], relation: str) -> list[Unified]:
    out: dict[int, Unified] = {}
    for unit in units:
        for related in await request.related(unit, relation):
            out.setdefault(id(related), related)
    return list(out.values())


async def _customers_by_ref(request: Request, text: str) -> list[Unified]:
    """A customer record's ref, or the ref of any record with a `customer` relation (a case)."""
    ref = parse_source_ref(text)
    if ref is None or ref.source not in request.gateway.connectors:
        await _get(request, "Customer", text, "sourceRef")  # raises the precise error
        return []
    unit = await request.get("Customer", ref)
    if unit is not None:
        return [unit]
    for entity, decl in request.model.entities.items():
        relation = decl.relations.get("customer")
        if relation is None or relation.entity != "Customer":
            continue
        other = await request.get(entity, ref)
        if other is not None:
            return await request.related(other, "customer")
    return []  # nothing leads to a customer: an answer, like any lookup that matches nothing


def _intersect(groups: list[list[Unified]]) -> list[Unified]:
    common = set.intersection(*({u.id for u in g} for g in groups))
    return [u for u in groups[0] if u.id in common]


def _purchase_conditions(flt: Any, region: str) -> list[Condition]:
    if flt is None:
        return []
    out = []
    if flt.cardLast4 is not None:
        if not (len(flt.cardLast4) == 4 and flt.cardLast4.isdigit()):
            raise QueryError(f"filter.cardLast4: '{flt.cardLast4}' is not four digits", "filter.cardLast4")
        out.append(Condition("cardLast4", "eq", flt.cardLast4))
    if flt.placedFrom is not None:
        out.append(Condition("placedAt", "gte", _aware(flt.placedFrom)))
    if flt.placedTo is not None:
        # Half-open [placedFrom, placedTo): day-by-day pages meet without overlap, so a purchase at
        # exactly midnight is in one page, not two.
        out.append(Condition("placedAt", "lt", _aware(flt.placedTo)))
    if flt.amount is not None:
        out.append(Condition("total", "eq", flt.amount))
    if flt.channel is not None:
        out.append(Condition("channel", "eq", flt.channel.value))
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _customer_purchases(request: Request, flt: Any, conditions: list[Condition],
                              sources: list[str] | None) -> list[Unified]:
    owner = await _get(request, "Customer", str(flt.customerId), "filter.customerId")
    if owner is None:  # a customer nobody holds has no purchases: an answer, not an error
        return []
    return [u for u in await request.related(owner, "purchases")
            if any(matches(r, conditions) for r in u.records)
            and (sources is None or any(r.source in sources for r in u.records))]


async def _purchases_in_scope(request: Request, flt: Any) -> list[Unified]:
    """Every purchase the filter selects (one customer's, or a search of every source)."""
    conditions, sources = _filter_scope(request, flt)
    if flt is not None and flt.customerId is not None:
        return await _customer_purchases(request, flt, conditions, sources)
    return await request.search("Purchase", conditions, [], None, sources)


async def _all_customers(request: Request) -> tuple[list[Unified], int, bool]:
    """Every customer record of every source, unified once, in id order (bounded per source)."""
    units = await request.search("Customer", [], [], None)
    units.sort(key=lambda u: u.id)
    cap = request.gateway.config.gateway.max_search_rows
    truncated = any(s.records >= cap for s in request.stats.values())
    return units, len(units), truncated


def _filter_scope(request: Request, flt: Any) -> tuple[list[Condition], list[str] | None]:
    """The filter's conditions, and the one source it names (None: every source)."""
    conditions = _purchase_conditions(flt, request.gateway.config.gateway.region)
    if flt is None or flt.source is None:
        return conditions, None
    if flt.source not in request.gateway.connectors:
        raise QueryError(f"filter.source: no source '{flt.source}' (sources: "
                         f"{', '.join(request.gateway.connectors)})", "filter.source")
    return conditions, [flt.source]


async def _search_page(request: Request, conditions: list[Condition], first: int,
                       cursor: tuple[datetime | None, str] | None, sources: list[str] | None) -> list[Unified]:
    """Newest first by keyset; purchases whose date is unreadable come last, never lost."""
    order = [SortKey("placedAt", descending=True)]
    # Keyset slack: rows sharing the cursor's timestamp are dropped by the caller, so fetch a few more.
    limit = first + 21
    if cursor is None or cursor[0] is None:
        return await request.search("Purchase", conditions, order, None if cursor else limit, sources)
    dated = await request.search("Purchase", [*conditions, Condition("placedAt", "lte", cursor[0])], order,
                                 limit, sources)
    boundary = (cursor[0], cursor[1])
    if sum(1 for u in dated if _sort_key(u) < boundary) > first:
        return dated
    everything = await request.search("Purchase", conditions, order, None, sources)
    return dated + [u for u in everything if u.values.get("placedAt") is None]


def _sort_key(unit: Unified) -> tuple[datetime, str]:
    at = unit.values.get("placedAt")
    return (at if isinstance(at, datetime) else datetime.min.replace(tzinfo=UTC), unit.id)


async def _purchases(request: Request, flt: Any, first: int, after: str | None) -> tuple[list[Unified], bool]:
    if not 1 <= first <= MAX_PAGE:
        raise QueryError(f"first: must be between 1 and {MAX_PAGE}", "first")
    conditions, sources = _filter_scope(request, flt)
    cursor = decode_cursor(after) if after else None
    if flt is not None and flt.customerId is not None:
        units = await _customer_purchases(request, flt, conditions, sources)
    else:
        units = await _search_page(request, conditions, first, cursor, sources)
    units.sort(key=_sort_key, reverse=True)
    if cursor is not None:
        boundary = (cursor[0] or datetime.min.replace(tzinfo=UTC), cursor[1])
        units = [u for u in units if _sort_key(u) < boundary]
    return units[:first], len(units) > first
