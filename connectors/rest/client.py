"""One aiohttp session per source: auth, a concurrency cap, one JSON request with mapped errors."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import jmespath
import orjson
from jmespath.exceptions import JMESPathError
from yarl import URL

from connectors.rest.auth import OAuth2Token
from connectors.rest.config import (
    ApiKeyAuth,
    BasicAuthSpec,
    BearerAuth,
    OAuth2ClientCredentials,
    RestOptions,
)
from connectors.rest.errors import from_client_error, from_status
from connectors.sdk import SourceError

__all__ = ["Params", "Response", "RestClient", "endpoint_url", "quote_safely"]

Params = Sequence[tuple[str, str]]
T = TypeVar("T")
_SAFE_PATH = "/?:@&=+$,;-_.!~*'()%"
_QUOTE_LIMIT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


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


def _secrets(options: RestOptions) -> list[str]:
    auth = options.auth
    if isinstance(auth, ApiKeyAuth):
        return [auth.value.get_secret_value()]
    if isinstance(auth, BearerAuth):
        return [auth.token.get_secret_value()]
    if isinstance(auth, BasicAuthSpec):
        return [auth.password.get_secret_value()]
    if isinstance(auth, OAuth2ClientCredentials):
        return [auth.client_secret.get_secret_value()]
    return []


def quote_safely(value: Any, secrets: Sequence[str] = ()) -> str:
    """A source's own message, fit for an error: one line, secrets masked, at most 200 chars."""
    if isinstance(value, dict):
        text = next((value[k] for k in ("message", "error_description", "detail", "title")
                     if isinstance(value.get(k), str)), None)
        value = text if text is not None else orjson.dumps(value).decode()
    elif not isinstance(value, str):
        value = orjson.dumps(value, default=str).decode()
    text = " ".join(_CONTROL.sub(" ", value).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > _QUOTE_LIMIT:
        text = text[:_QUOTE_LIMIT - 1] + "…"
    return f"'{text}'"


def _not_json(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    if raw.lstrip()[:1] == b"<":
        return "the body looks like HTML"
    if exc.pos >= len(raw.rstrip()):
        return f"it ends early after {len(raw)} bytes (truncated?)"
    return f"malformed at line {exc.lineno} column {exc.colno}"


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
        self._secrets = _secrets(options)
        auth = options.auth
        self.token = (
            OAuth2Token(source, auth) if isinstance(auth, OAuth2ClientCredentials) else None
        )
        self.error_path = options.error_path
        self._error = jmespath.compile(options.error_path) if options.error_path else None
        self._slots = asyncio.Semaphore(options.max_concurrency)
        # One endpoint (a path template) may hold at most this many of the slots, so an endpoint
        # that hangs leaves the others a quarter of the source (at least one slot) rather than
        # queueing every other call of the source behind its timeouts.
        self._share = max(1, options.max_concurrency - max(1, options.max_concurrency // 4))
        self._endpoints: dict[str, asyncio.Semaphore] = {}
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

        async def status_of(resp: aiohttp.ClientResponse) -> int:
            return resp.status

        try:
            return await self._exchange("GET", self._signed(url, ()), None, status_of, "health")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise from_client_error(self.source, exc, f"GET {url.path}") from exc

    async def request(
        self, method: str, url: URL, *, label: str, params: Params = (),
        json: Mapping[str, Any] | None = None, missing_ok: bool = False,
    ) -> Response:
        """One request; `label` names the endpoint in errors; with `missing_ok` a 404 is empty."""
        where = f"{method} {label}"

        async def answer(resp: aiohttp.ClientResponse) -> Response:
            if missing_ok and resp.status == 404:
                return Response(url=resp.url, status=404, body=None)
            if not 200 <= resp.status < 300:
                detail = await self._refusal(resp)
                raise from_status(
                    self.source, resp.status, where, resp.headers.get("Retry-After"), detail
                )
            body = await self._body(resp, where)
            return Response(resp.url, resp.status, body, _link_next(resp))

        try:
            return await self._exchange(method, self._signed(url, params), json, answer, where)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise from_client_error(self.source, exc, where) from exc

    async def _exchange(
        self, method: str, url: URL, json: Mapping[str, Any] | None,
        handle: Callable[[aiohttp.ClientResponse], Awaitable[T]], endpoint: str,
    ) -> T:
        """Send once; with OAuth2 a 401 drops the token and the request goes once more."""
        session = self.open()
        share = self._endpoints.get(endpoint)
        if share is None:  # endpoints are the config's path templates: a bounded set
            share = self._endpoints[endpoint] = asyncio.Semaphore(self._share)
        for attempt in (1, 2):
            token = await self.token.get(session) if self.token is not None else None
            headers = {"Authorization": f"Bearer {token}"} if token else None
            async with share, self._slots, session.request(
                method, url, json=json, headers=headers
            ) as resp:
                if self.token is not None and token and resp.status == 401 and attempt == 1:
                    self.token.expire(token)
                    continue
                return await handle(resp)
        raise AssertionError("unreachable: the second attempt always returns")

    def _signed(self, url: URL, params: Params) -> URL:
        if params:
            url = url.extend_query(list(params))
        return url.update_query(self._query) if self._query else url

    def quote(self, value: Any) -> str:
        """`value` quoted for an error message, with this source's secrets masked."""
        return quote_safely(value, self._secrets)

    async def _refusal(self, resp: aiohttp.ClientResponse) -> str | None:
        """The API's own error message from a non-2xx JSON body, when `error_path` finds one."""
        if self._error is None or not _is_json(resp.content_type):
            return None
        try:
            found = self._error.search(orjson.loads(await resp.read()))
        except (orjson.JSONDecodeError, JMESPathError, aiohttp.ClientError):
            return None
        return self.quote(found) if found not in (None, False, "", [], {}) else None

    async def _body(self, resp: aiohttp.ClientResponse, where: str) -> Any:
        raw = await resp.read()
        if resp.status == 204:
            return None
        if not raw.strip():
            raise SourceError(
                self.source, f"HTTP {resp.status} from {where} has an empty body (expected JSON)"
            )
        if not _is_json(resp.content_type):
            html = " and looks like HTML" if raw.lstrip()[:1] == b"<" else ""
            raise SourceError(
                self.source,
                f"expected JSON from {where}, got HTTP {resp.status} with content type "
                f"'{resp.content_type}'{html}",
            )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SourceError(
                self.source,
                f"HTTP {resp.status} from {where} is not valid JSON: {_not_json(raw, exc)}",
            ) from None
        self._check_envelope(body, resp.status, where)
        return body

    def _check_envelope(self, body: Any, status: int, where: str) -> None:
        """A 2xx body that carries an error at `error_path` is a failure, quoted."""
        if self._error is None:
            return
        try:
            found = self._error.search(body)
        except JMESPathError:
            return
        if found not in (None, False, "", [], {}):
            raise SourceError(
                self.source,
                f"HTTP {status} from {where} carries an error at '{self.error_path}': "
                f"{self.quote(found)}",
            )
