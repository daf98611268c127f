"""Options of the `rest` connector: base URL, auth, timeouts and one endpoint mapping per entity."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from yarl import URL

from connectors.sdk import EntityMapBase, FieldMap
from connectors.sdk.regions import Region

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BasicAuthSpec",
    "BearerAuth",
    "CursorPagination",
    "LinkPagination",
    "LookupSpec",
    "LookupsSpec",
    "NextUrlPagination",
    "NoPagination",
    "OAuth2ClientCredentials",
    "OffsetPagination",
    "PagePagination",
    "Pagination",
    "RestEntityMap",
    "RestOptions",
    "SearchParam",
    "SearchSpec",
    "check_jmespath",
]

_CLOSED = ConfigDict(extra="forbid", frozen=True)


def check_jmespath(expression: str) -> str:
    """The expression unchanged when it compiles, else ValueError naming it."""
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"'{expression}' is not a valid JMESPath expression: {exc}") from None
    return expression


def _check_path(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"'{path}' must start with '/' (it is joined to base_url)")
    return path


class ApiKeyAuth(BaseModel):
    """An API key sent in one header or one query parameter."""

    model_config = _CLOSED
    type: Literal["api_key"]
    value: SecretStr
    header: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query is None):
            raise ValueError("say where the key goes: exactly one of 'header' or 'query'")
        return self


class BearerAuth(BaseModel):
    """`Authorization: Bearer <token>`."""

    model_config = _CLOSED
    type: Literal["bearer"]
    token: SecretStr


class BasicAuthSpec(BaseModel):
    """HTTP basic authentication."""

    model_config = _CLOSED
    type: Literal["basic"]
    username: str
    password: SecretStr


def _absolute_http(value: str) -> str:
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an absolute http:// or https:// URL")
    if url.user or url.password:
        raise ValueError("must carry no credentials; use 'client_id' and 'client_secret'")
    return value


class OAuth2ClientCredentials(BaseModel):
    """OAuth2 client-credentials grant: a bearer token from `token_url`, cached until expiry."""

    model_config = _CLOSED
    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None
    audience: str | None = None
    client_auth: Literal["body", "basic"] = "body"
    refresh_margin: float = Field(default=30.0, ge=0)

    @field_validator("token_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _absolute_http(value)


Auth = Annotated[
    ApiKeyAuth | BearerAuth | BasicAuthSpec | OAuth2ClientCredentials, Field(discriminator="type")
]


class _Paged(BaseModel):
    model_config = _CLOSED
    max_pages: int = Field(default=50, ge=1)


class NoPagination(_Paged):
    """One request answers everything."""

    type: Literal["none"]


class _Counted(_Paged):
    total_path: str | None = None

    @field_validator("total_path")
    @classmethod
    def _total(cls, value: str | None) -> str | None:
        return value if value is None else check_jmespath(value)


class PagePagination(_Counted):
    """`?page=N&size=S`; stops at a short page, or once `total_path`'s count has been read."""

    type: Literal["page"]
    page_param: str = "page"
    size_param: str = "size"
    size: int = Field(default=100, ge=1)
    start: int = 1


class OffsetPagination(_Counted):
    """`?offset=N&limit=L`; stops at a short page, or once `total_path`'s count has been read."""

    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1)


class CursorPagination(_Paged):
    """The next cursor is read from the body at `cursor_path` and sent as `cursor_param`."""

    type: Literal["cursor"]
    cursor_path: str
    cursor_param: str

    @field_validator("cursor_path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_jmespath(value)


class NextUrlPagination(_Paged):
    """The body holds the next page's URL (relative or absolute, same origin only)."""

    type: Literal["next_url"]
    next_path: str
    done_path: str | None = None

    @field_validator("next_path", "done_path")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return value if value is None else check_jmespath(value)


class LinkPagination(_Paged):
    """RFC 5988 `Link: <…>; rel="next"` response header."""

    type: Literal["link"]


Pagination = Annotated[
    NoPagination | PagePagination | OffsetPagination | CursorPagination | NextUrlPagination
    | LinkPagination,
    Field(discriminator="type"),
]


class LookupSpec(BaseModel):
    """How the API fetches records by a list of values."""

    model_config = _CLOSED
    style: Literal["comma", "repeat", "path", "post"] = "comma"
    param: str | None = None
    max_batch: int = Field(default=100, ge=1)
    path: str | None = None
    records: str | None = None
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> LookupSpec:
        if self.records is not None:
            check_jmespath(self.records)
        if self.path is not None:
            _check_path(self.path)
        if self.style == "path":
            if self.path is None or "{value}" not in self.path:
                raise ValueError("style 'path' needs a 'path' containing '{value}'")
        elif not self.param:
            raise ValueError(f"style '{self.style}' needs 'param'")
        return self


class LookupsSpec(BaseModel):
    """Lookups the API offers, by local id, by match key and by same-source reference."""

    model_config = _CLOSED
    id: LookupSpec | None = None
    keys: dict[str, LookupSpec] = Field(default_factory=dict)
    refs: dict[str, LookupSpec] = Field(default_factory=dict)


class SearchParam(BaseModel):
    """One filter the API applies itself: `field op value` sent as `param=value`."""

    model_config = _CLOSED
    param: str
    op: Literal["eq", "prefix", "gte", "lte"] = "eq"


class SearchSpec(BaseModel):
    """Filters pushed down to the API and fixed query parameters for searches."""

    model_config = _CLOSED
    params: dict[str, list[SearchParam]] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value


class RestEntityMap(EntityMapBase):
    """One entity served by one endpoint: where the records are and how to page and look up."""

    path: str
    records: str = "@"
    query: dict[str, str] = Field(default_factory=dict)
    lookup: LookupsSpec = Field(default_factory=LookupsSpec)
    search: SearchSpec = Field(default_factory=SearchSpec)
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))

    @field_validator("path")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _check_path(value)

    @field_validator("records")
    @classmethod
    def _records(cls, value: str) -> str:
        return check_jmespath(value)

    @model_validator(mode="after")
    def _consistent(self) -> RestEntityMap:
        for where, maps in (("keys", self.lookup.keys), ("refs", self.lookup.refs)):
            mapped = getattr(self, where)
            for name in maps:
                if name not in mapped:
                    valid = ", ".join(sorted(mapped)) or "none mapped"
                    raise ValueError(
                        f"lookup.{where}.{name}: not a mapped {where[:-1]} (valid: {valid})"
                    )
        for expression in self.expressions():
            check_jmespath(expression)
        return self

    def field_maps(self) -> list[FieldMap]:
        maps = [self.id, *self.fields.values(), *self.keys.values(), *self.refs.values()]
        return maps + ([self.updated_at] if self.updated_at else [])

    def expressions(self) -> set[str]:
        """Every JMESPath this mapping evaluates on a record."""
        return {origin for spec in self.field_maps() for origin in spec.origin} | set(self.region_origins())


class RestOptions(BaseModel):
    """Everything under a `type: rest` source except type, description and timeout."""

    model_config = _CLOSED
    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Auth | None = None
    connect_timeout: float = Field(default=2.0, gt=0)
    read_timeout: float = Field(default=5.0, gt=0)
    max_concurrency: int = Field(default=8, ge=1)
    health_path: str | None = None
    error_path: str | None = None
    region: Region | None = None  # how this source writes phone numbers: connectors/sdk/regions.py
    entities: dict[str, RestEntityMap] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        url = URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http:// or https:// URL")
        if url.query_string or url.user or url.password:
            raise ValueError("must carry no query string or credentials; use 'auth'")
        return value.rstrip("/")

    @field_validator("health_path")
    @classmethod
    def _health(cls, value: str | None) -> str | None:
        return value if value is None else _check_path(value)

    @field_validator("error_path")
    @classmethod
    def _error(cls, value: str | None) -> str | None:
        return value if value is None else check_jmespath(value)
