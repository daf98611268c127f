"""A connector for a json-server API (typicode/json-server): the walk-through of docs/connectors/writing.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from connectors.sdk import (
    BaseConnector,
    Capabilities,
    ConnectorContext,
    EntityCapabilities,
    EntityMapBase,
    Health,
    Record,
    SearchRequest,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from federation.contract import Op

__all__ = ["JsonServerConnector"]


class ResourceMap(EntityMapBase):
    """One entity read from one json-server resource (`GET /customers`)."""

    resource: str


class JsonServerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_url: str
    timeout: float = Field(default=5.0, gt=0)
    entities: dict[str, ResourceMap] = Field(default_factory=dict)


_LIKE: frozenset[Op] = frozenset({"eq", "prefix", "contains"})  # as `field_like=<regex>`, ignoring case


class JsonServerConnector(BaseConnector):
    kind: ClassVar[str] = "jsonserver"
    options_model = JsonServerOptions
    options: JsonServerOptions

    def __init__(self, name: str, options: JsonServerOptions, context: ConnectorContext) -> None:
        super().__init__(name, options, context)
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.options.timeout))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def health(self) -> Health:
        try:
            await self._get("", [])
        except SourceError as exc:
            return Health(ok=False, detail=str(exc))
        return Health(ok=True)

    def capabilities(self) -> Capabilities:
        out = {}
        for entity, mapper in self.mappers.items():
            m, decl = mapper.mapping, mapper.decl
            # json-server matches a stored value exactly, or by a case-blind regex (`_like`): ids and
            # refs as stored, email keys by regex; other keys (phones) are normalized past matching.
            keys = {f"key:{k}" for k in m.keys if k in decl.keys and decl.keys[k].normalize == "email"}
            text = {f: _LIKE for f, s in m.fields.items() if _plain(s) and f in decl.fields
                    and decl.fields[f].type_ref.name == "String" and not decl.fields[f].type_ref.is_list}
            out[entity] = EntityCapabilities(lookups=frozenset({"id", *keys, *(f"ref:{r}" for r in m.refs)}),
                                             filters=text)
        return Capabilities(entities=out)

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        m = self._map(entity)
        wanted = sorted({str(v).strip() for v in values if v})
        kind, _, name = by.partition(":")
        spec = m.id if kind == "id" else m.refs.get(name) if kind == "ref" else m.keys.get(name)
        if spec is None or not _plain(spec) or by not in self.capabilities().entities[entity].lookups:
            raise SourceError(self.name, f"{entity} has no lookup '{by}'")
        if not wanted:
            return []
        column = spec.origin[0]
        if kind == "key":  # one regex for every value: `^\s*(a|b)\s*$`, case ignored
            pattern = r"^\s*(" + "|".join(map(re.escape, wanted)) + r")\s*$"
            params = [(f"{column}_like", pattern)]
        else:
            params = [(column, v) for v in wanted]  # repeated: `?id=C1&id=C2`
        records = self._records(entity, await self._get(m.resource, params))
        if kind == "key":
            return [r for r in records if set(r.keys.get(name, ())) & set(wanted)]
        return [r for r in records if (r.local_id if kind == "id" else r.refs.get(name)) in wanted]

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        m = self._map(entity)
        filters = self.capabilities().entities[entity].filters
        params = []
        for c in request.conditions:  # what is not sent here the engine filters after us
            if c.op in filters.get(c.field, ()) and isinstance(c.value, str) and c.value.isascii():
                text = re.escape(c.value.strip())
                pattern = {"eq": f"^\\s*{text}\\s*$", "prefix": f"^\\s*{text}", "contains": text}[c.op]
                params.append((f"{m.fields[c.field].origin[0]}_like", pattern))
        return self._records(entity, await self._get(m.resource, params))

    async def _get(self, resource: str, params: list[tuple[str, str]]) -> Any:
        if self.session is None:
            raise SourceUnavailable(self.name, "not open")
        url = f"{self.options.base_url.rstrip('/')}/{resource}"
        try:
            async with self.session.get(url, params=params) as response:
                if response.status >= 400:
                    raise SourceError(self.name, f"GET /{resource} answered HTTP {response.status}")
                return await response.json()
        except TimeoutError:
            raise SourceTimeout(self.name, f"GET /{resource} took over {self.options.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(self.name, f"GET /{resource}: {exc}") from None

    def _map(self, entity: str) -> ResourceMap:
        if entity not in self.mappers:
            raise SourceError(self.name, f"does not serve {entity} (valid: {', '.join(sorted(self.mappers))})")
        return self.options.entities[entity]

    def _records(self, entity: str, rows: Any) -> list[Record]:
        if not isinstance(rows, list):
            raise SourceError(self.name, f"expected a JSON array of {entity} records")
        out: dict[str, Record] = {}
        for row in rows:
            record = self.mappers[entity].to_record(row.get if isinstance(row, dict) else {}.get)
            if record.local_id:
                out.setdefault(record.local_id, record)
        return list(out.values())


def _plain(spec: Any) -> bool:
    return len(spec.origin) == 1 and not spec.transform
