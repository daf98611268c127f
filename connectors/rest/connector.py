"""RestConnector: batched lookups and pushed-down searches over JSON HTTP APIs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from datetime import date
from typing import Any, ClassVar

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter
from yarl import URL

from connectors.rest.client import Params, Response, RestClient, endpoint_url
from connectors.rest.config import (
    LookupSpec,
    OffsetPagination,
    PagePagination,
    Pagination,
    RestEntityMap,
    RestOptions,
)
from connectors.rest.pagination import make_paginator
from connectors.sdk import (
    BaseConnector,
    Capabilities,
    Condition,
    ConnectorContext,
    EntityCapabilities,
    Health,
    Record,
    SearchRequest,
    SourceError,
    SourceRejectedInput,
)
from federation.contract import Op
from federation.drafts import DraftRequest
from federation.messages import cut

__all__ = ["RestConnector"]

Getter = Callable[[str], Any]

log = logging.getLogger(__name__)


def _chunks(values: Sequence[str], size: int) -> list[list[str]]:
    return [list(values[i:i + size]) for i in range(0, len(values), size)]


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _smallest_page(pagination: Pagination) -> Params:
    """Query parameters for a first page as small as the style allows (one record)."""
    if isinstance(pagination, PagePagination):
        return ((pagination.page_param, str(pagination.start)), (pagination.size_param, "1"))
    if isinstance(pagination, OffsetPagination):
        return ((pagination.offset_param, "0"), (pagination.limit_param, "1"))
    return make_paginator(pagination).first()


def _shape(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number"}.get(
        type(value), "a value"
    )


def _unique(records: Iterable[Record]) -> list[Record]:
    """One record per local id (pages and chunks may overlap), first seen wins."""
    out: dict[str, Record] = {}
    for record in records:
        out.setdefault(record.local_id, record)
    return list(out.values())


class RestConnector(BaseConnector):
    """A JSON HTTP API as a source: one endpoint per entity, mapped with JMESPath."""

    kind: ClassVar[str] = "rest"
    options_model = RestOptions
    options: RestOptions
    drafts: ClassVar[frozenset[str]] = frozenset({"openapi"})

    @classmethod
    async def draft(cls, kind: str, request: DraftRequest) -> str:
        from connectors.rest.draft import draft_openapi  # the drafting code loads only for `federation import`

        return await draft_openapi(request)

    def __init__(self, name: str, options: RestOptions, context: ConnectorContext) -> None:
        super().__init__(name, options, context)
        self.client = RestClient(name, options)
        self._exprs: dict[str, ParsedResult] = {}
        self._plain: dict[str, str] = {}  # expressions that are one bare key, e.g. `name`
        for mapping in options.entities.values():
            lookups = [s.records for _, s in self._lookups(mapping) if s.records]
            for expression in {mapping.records, *lookups, *mapping.expressions()}:
                self._compiled(expression)

    # lifecycle

    async def open(self) -> None:
        self.client.open()

    async def close(self) -> None:
        await self.client.close()

    async def health(self) -> Health:
        """Reachable with valid credentials; see docs/connectors/rest.md for the status rules."""
        path = self.options.health_path
        try:
            status = await self.client.status(endpoint_url(self.options.base_url, path or "/"))
        except SourceError as exc:
            return Health(ok=False, detail=str(exc))
        ok = 200 <= status < 300 if path else status < 500 and status not in (401, 403, 429)
        return Health(ok=ok, detail=f"HTTP {status}")

    async def verify(self) -> list[str]:
        """Probe each entity's endpoint once: a first page of one record, mapped like a search."""
        found = await asyncio.gather(*(self._probe(entity) for entity in self.mappers))
        return [problem for problems in found for problem in problems]

    async def _probe(self, entity: str) -> list[str]:
        spec = self._mapping(entity)
        at = f"entities.{entity}"
        params = [*spec.query.items(), *spec.search.query.items(), *_smallest_page(spec.pagination)]
        url = endpoint_url(self.options.base_url, spec.path)
        try:
            response = await self.client.request(
                "GET", url, label=spec.path, params=params, missing_ok=True
            )
        except (SourceError, SourceRejectedInput) as exc:
            said = str(exc).removeprefix(f"source '{self.name}': ")
            return [f"{at}.path: {said}"]
        if response.status == 404:
            return [f"{at}.path: GET {spec.path} answered HTTP 404 (no such endpoint)"]
        rows = self._compiled(spec.records).search(response.body)
        if isinstance(rows, list | dict):
            return []
        body = response.body
        valid = [k for k, v in body.items() if isinstance(v, list | dict)] if isinstance(
            body, dict) else []
        hint = f" (valid: {', '.join(valid[:8])})" if valid else ""
        return [f"{at}.records: '{spec.records}' matched {_shape(rows)} in the answer of "
                f"GET {spec.path}, not a list or object of records{hint}"]

    # capabilities

    def capabilities(self) -> Capabilities:
        return Capabilities(entities={e: self._entity_caps(e) for e in self.mappers})

    def _entity_caps(self, entity: str) -> EntityCapabilities:
        spec = self._mapping(entity)
        lookups = {name for name, _ in self._lookups(spec)}
        filters: dict[str, frozenset[Op]] = {
            name: frozenset(p.op for p in params) for name, params in spec.search.params.items()
        }
        return EntityCapabilities(lookups=frozenset(lookups), filters=filters, searchable=True,
                                  unique_keys=spec.unique_keys)

    @staticmethod
    def _lookups(spec: RestEntityMap) -> Iterable[tuple[str, LookupSpec]]:
        if spec.lookup.id is not None:
            yield "id", spec.lookup.id
        yield from ((f"key:{k}", s) for k, s in spec.lookup.keys.items())
        yield from ((f"ref:{r}", s) for r, s in spec.lookup.refs.items())

    def problems(self) -> list[str]:
        out = super().problems()
        for entity in self.mappers:
            decl = self.context.model.entities[entity]
            valid = ", ".join(sorted({*decl.fields, *decl.keys}))
            out += [
                f"entities.{entity}.search.params.{name}: {entity} has no field or key '{name}' "
                f"(valid: {valid})"
                for name in self._mapping(entity).search.params
                if name not in decl.fields and name not in decl.keys
            ]
        return out

    # lookup

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        spec = self._mapping(entity)
        lookups = dict(self._lookups(spec))
        if by not in lookups:
            valid = ", ".join(sorted(lookups)) or "none declared"
            raise SourceError(self.name, f"{entity} has no lookup '{by}' (valid: {valid})")
        wanted = list(dict.fromkeys(str(v) for v in values if v is not None and str(v) != ""))
        if not wanted:
            return []
        rows = await self._lookup_rows(spec, lookups[by], wanted)
        accept = self._matcher(by, set(wanted))
        return _unique(r for r in self._records(entity, rows) if accept(r))

    async def _lookup_rows(
        self, spec: RestEntityMap, how: LookupSpec, values: list[str]
    ) -> list[Any]:
        if how.style == "path":
            calls = [self._rows_at(spec, how, value) for value in values]
        else:
            chunks = _chunks(values, how.max_batch)
            calls = [self._collect(self._batch(spec, how, chunk)) for chunk in chunks]
        return [row for rows in await asyncio.gather(*calls) for row in rows]

    def _batch(self, spec: RestEntityMap, how: LookupSpec, chunk: list[str]) -> AsyncIterator[list[Any]]:
        url = endpoint_url(self.options.base_url, how.path or spec.path)
        label = how.path or spec.path
        params = list(self._fixed(spec, how).items())
        param = str(how.param)
        if how.style == "post":
            body = {**how.body, param: chunk}
            return self._pages(spec, url, label, params, how.records, method="POST", json=body)
        if how.style == "repeat":
            params += [(param, value) for value in chunk]
        else:
            params.append((param, ",".join(chunk)))
        return self._pages(spec, url, label, params, how.records)

    async def _rows_at(self, spec: RestEntityMap, how: LookupSpec, value: str) -> list[Any]:
        url = endpoint_url(self.options.base_url, str(how.path), value)
        response = await self.client.request(
            "GET", url, label=str(how.path), params=list(how.query.items()), missing_ok=True
        )
        return self._rows(spec, response, str(how.path), how.records)

    @staticmethod
    def _fixed(spec: RestEntityMap, how: LookupSpec) -> dict[str, str]:
        """The entity's `query` goes with requests to its `path`; a lookup's own path, its own."""
        return {**spec.query, **how.query} if how.path is None else dict(how.query)

    def _matcher(self, by: str, wanted: set[str]) -> Callable[[Record], bool]:
        kind, _, name = by.partition(":")
        if kind == "key":
            return lambda r: bool(wanted.intersection(r.keys.get(name, ())))
        if kind == "ref":
            return lambda r: r.refs.get(name) in wanted
        return lambda r: r.local_id in wanted

    # search

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        spec = self._mapping(entity)
        params = [*spec.query.items(), *spec.search.query.items()]
        pushed = self._pushdown(spec, request.conditions)
        params += pushed
        complete = len(pushed) == len(request.conditions) and not request.order
        enough = request.limit if complete and request.limit is not None else None
        url = endpoint_url(self.options.base_url, spec.path)
        out: dict[str, Record] = {}
        async with aclosing(self._pages(spec, url, spec.path, params)) as pages:
            async for page in pages:
                for record in self._records(entity, page):
                    out.setdefault(record.local_id, record)
                    if enough is not None and len(out) >= enough:
                        return list(out.values())
        return list(out.values())

    @staticmethod
    def _pushdown(spec: RestEntityMap, conditions: Sequence[Condition]) -> list[tuple[str, str]]:
        """Query parameters for the conditions the API applies itself, one per condition."""
        out: list[tuple[str, str]] = []
        for condition in conditions:
            declared = spec.search.params.get(condition.field, ())
            param = next((p for p in declared if p.op == condition.op), None)
            if param is not None and param.param not in {name for name, _ in out}:
                out.append((param.param, _param_value(condition.value)))
        return out

    # pages and records

    async def _pages(
        self, spec: RestEntityMap, url: URL, label: str, params: Params, records: str | None = None,
        method: str = "GET", json: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[list[Any], None]:
        """The rows of a listing, one list per page, up to `max_pages` (a page at a time: one
        generator step per page rather than per row, which was a tenth of mapping a page)."""
        paginator = make_paginator(spec.pagination)
        response = await self.client.request(
            method, url, label=label, params=[*params, *paginator.first()], json=json
        )
        for number in range(1, spec.pagination.max_pages + 1):
            rows = self._rows(spec, response, label, records)
            yield rows
            # A filtered records path (`data[?order_ref]`) keeps fewer rows than the page held;
            # paging must count what the page held, or a full page looks like the last one.
            step = paginator.next(response, self._page_count(records or spec.records, response, len(rows)))
            if step is None:
                return
            if number == spec.pagination.max_pages:
                self._warn_cap(spec)
                return
            if step.url is not None:
                response = await self.client.request("GET", self._follow(step.url), label=label)
            else:
                response = await self.client.request(
                    method, url, label=label, params=[*params, *step.params], json=json
                )

    def _follow(self, url: URL) -> URL:
        if not self.client.same_origin(url):
            raise SourceError(
                self.name, f"next page is on another origin ({url.origin()}); not followed"
            )
        return url

    def _warn_cap(self, spec: RestEntityMap) -> None:
        entity = next(e for e, s in self.options.entities.items() if s is spec)
        log.warning(
            "source '%s' entity %s: stopped after max_pages=%d; later pages were not read",
            self.name, entity, spec.pagination.max_pages,
        )

    @staticmethod
    async def _collect(pages: AsyncIterator[list[Any]]) -> list[Any]:
        return [row async for rows in pages for row in rows]

    def _rows(
        self, spec: RestEntityMap, response: Response, label: str, records: str | None = None
    ) -> list[Any]:
        if response.body is None:
            return []
        path = records or spec.records
        found = self._compiled(path).search(response.body)
        if isinstance(found, dict) and found:
            return [found]
        if isinstance(found, list):
            strays = [row for row in found if not isinstance(row, dict)]
            if not strays:
                return found
            # Items that are not objects mean the API answers another shape than the mapping
            # expects: dropping them would answer "no such records" with ok: true.
            raise SourceError(
                self.name,
                f"records path '{path}' holds {len(strays)} item(s) that are not objects (first: "
                f"{_shown(strays[0])}) in the HTTP {response.status} answer for {label}",
            )
        what = "an empty object" if isinstance(found, dict) else _kind(found)
        raise SourceError(
            self.name,
            f"records path '{path}' holds {what}, not a list or object of records, in the HTTP "
            f"{response.status} answer for {label}",
        )

    def _records(self, entity: str, rows: Iterable[Any]) -> list[Record]:
        mapper = self.mappers[entity]
        out = []
        for row in rows:
            get = self._getter(row)
            try:
                record = mapper.to_record(get)
            except (ValueError, TypeError) as exc:
                log.warning("source '%s' entity %s: record skipped: %s", self.name, entity, exc)
                continue
            if record.local_id:
                out.append(record)  # a value of the wrong JSON shape is already that field's error
        return out

    def _getter(self, row: Any) -> Getter:
        plain, values = self._plain, row if isinstance(row, dict) else {}  # looked up once per row

        def get(expression: str) -> Any:
            name = plain.get(expression)
            if name is not None:  # a bare key: what JMESPath answers, without its interpreter
                return values.get(name)
            try:
                return self._compiled(expression).search(row)
            except JMESPathError:
                return None

        return get

    def _page_count(self, path: str, response: Response, kept: int) -> int:
        """How many items the page held before a filter projection dropped some."""
        parsed = self._compiled(path).parsed
        if parsed.get("type") != "filter_projection" or response.body is None:
            return kept
        base = TreeInterpreter().visit(parsed["children"][0], response.body)
        return len(base) if isinstance(base, list) else kept

    def _compiled(self, expression: str) -> ParsedResult:
        compiled = self._exprs.get(expression)
        if compiled is None:
            compiled = self._exprs[expression] = jmespath.compile(expression)
            if compiled.parsed.get("type") == "field":
                self._plain[expression] = compiled.parsed["value"]
        return compiled

    def _mapping(self, entity: str) -> RestEntityMap:
        if entity not in self.mappers:
            valid = ", ".join(sorted(self.mappers)) or "none"
            raise SourceError(self.name, f"no mapping for entity '{entity}' (valid: {valid})")
        return self.options.entities[entity]


def _kind(value: Any) -> str:
    """The JSON kind of `value`, as an API author would name it."""
    if value is None:
        return "nothing (null or missing)"
    if isinstance(value, bool):
        return f"a boolean ({_shown(value)})"
    if isinstance(value, int | float):
        return f"a number ({_shown(value)})"
    return f"a string ({_shown(value)})" if isinstance(value, str) else f"a {type(value).__name__}"


def _shown(value: Any) -> str:
    """A value from the source for a message: JSON-ish, cut to 100 characters."""
    return cut(repr(value))
