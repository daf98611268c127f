"""One aiohttp session per source: auth, a concurrency cap, one JSON request with mapped errors."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from connectors.rest.config import ApiKeyAuth, BasicAuthSpec, BearerAuth, RestOptions
from connectors.rest.errors import from_client_error, from_status
from connectors.sdk import SourceError

__all__ = ["Params", "Response", "RestClient", "endpoint_url"]

Params = Sequence[tuple[str, str]]
_SAFE_PATH = "/?:@&=+$,;-_.!~*'()%"


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded JSON answer: the URL asked, the body and the `Link: rel="next"` target."""

    url: URL
    status: int
    body: Any
    link_next: str | None = None


def endpoint_url(base_url: str, path: str, value: str | None = None) -> URL:
    """`base_url` + `path`, with `{value}` replaced by the URL-encoded value."""
    parts = [quote(part, safe=_SAFE_PATH) for part in path.split("{value}")]
    text = quote(value, safe="").join(parts) if value is not None else parts[0]
    return URL(base_url + text, encoded=True)


def _auth(options: RestOptions) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters that authenticate every request."""
    auth = options.auth
    if isinstance(auth, ApiKeyAuth):
        secret = auth.value.get_secret_value()
        return ({auth.header: secret}, {}) if auth.header else ({}, {str(auth.query): secret})
    if isinstance(auth, BearerAuth):
        return {"Authorization": f"Bearer {auth.token.get_secret_value()}"}, {}
    if isinstance(auth, BasicAuthSpec):
        pair = f"{auth.username}:{auth.password.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}, {}
    return {}, {}


def _link_next(resp: aiohttp.ClientResponse) -> str | None:
    target = resp.links.get("next")
    url = target.get("url") if target is not None else None
    return str(url) if url else None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


class RestClient:
    """Sends requests for one source; every failure leaves as an Onepane SourceError."""

    def __init__(self, source: str, options: RestOptions) -> None:
        self.source = source
        self.options = options
        self.origin = URL(options.base_url).origin()
        self._headers, self._query = _auth(options)
        self._slots = asyncio.Semaphore(options.max_concurrency)
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=self.options.connect_timeout,
                sock_read=self.options.read_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.options.max_concurrency, keepalive_timeout=30
                ),
                timeout=timeout,
                headers={"Accept": "application/json", **self.options.headers, **self._headers},
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def same_origin(self, url: URL) -> bool:
        return url.is_absolute() and url.origin() == self.origin

    async def status(self, url: URL) -> int:
        """The status of a GET, for health checks; transport errors are raised mapped."""
        where = f"GET {url.path}"
        try:
            async with self._slots, self.open().get(self._signed(url, ())) as resp:
                return resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise from_client_error(self.source, exc, where) from exc

    async def request(
        self, method: str, url: URL, *, label: str, params: Params = (),
        json: Mapping[str, Any] | None = None, missing_ok: bool = False,
    ) -> Response:
        """One request; `label` names the endpoint in errors; with `missing_ok` a 404 is empty."""
        where = f"{method} {label}"
        try:
            async with self._slots, self.open().request(
                method, self._signed(url, params), json=json
            ) as resp:
                if missing_ok and resp.status == 404:
                    return Response(url=resp.url, status=404, body=None)
                if not 200 <= resp.status < 300:
                    retry_after = resp.headers.get("Retry-After")
                    raise from_status(self.source, resp.status, where, retry_after)
                body = await self._body(resp, where)
                return Response(resp.url, resp.status, body, _link_next(resp))
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise from_client_error(self.source, exc, where) from exc

    def _signed(self, url: URL, params: Params) -> URL:
        if params:
            url = url.extend_query(list(params))
        return url.update_query(self._query) if self._query else url

    async def _body(self, resp: aiohttp.ClientResponse, where: str) -> Any:
        raw = await resp.read()
        if resp.status == 204 or not raw.strip():
            return None
        if not _is_json(resp.content_type):
            raise SourceError(
                self.source,
                f"expected JSON from {where}, got HTTP {resp.status} with content type "
                f"'{resp.content_type}'",
            )
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SourceError(
                self.source,
                f"HTTP {resp.status} from {where} is not valid JSON "
                f"(content type '{resp.content_type}')",
            ) from None
