"""OAuth2 client credentials: one token per source, fetched once, cached until it expires.

Concurrent first calls share one token request (a lock around the fetch). The token is kept
until `expires_in` minus `refresh_margin` seconds; `expire(token)` drops it after a 401 so the
next `get()` fetches a fresh one. Neither the client secret nor the token ever enters a
message: errors name the token endpoint's host and path, the status and the OAuth error code.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from yarl import URL

from connectors.rest.config import OAuth2ClientCredentials
from connectors.rest.errors import from_client_error, from_status
from connectors.sdk import SourceError

__all__ = ["OAuth2Token"]

_OAUTH_ERROR = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class OAuth2Token:
    """The current access token of one source, shared by every request it sends."""

    def __init__(
        self, source: str, spec: OAuth2ClientCredentials,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.spec = spec
        self.clock = clock
        self.fetches = 0
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = asyncio.Lock()
        url = URL(spec.token_url)
        self._where = f"POST {url.host}{url.path} (OAuth2 token endpoint)"

    def _current(self) -> str | None:
        return self._token if self._token and self.clock() < self._valid_until else None

    async def get(self, session: aiohttp.ClientSession) -> str:
        """A valid access token; at most one fetch runs at a time and later callers reuse it."""
        token = self._current()
        if token is not None:
            return token
        async with self._lock:
            token = self._current()
            if token is None:
                token, lifetime = await self._fetch(session)
                self._token, self._valid_until = token, self.clock() + lifetime
            return token

    def expire(self, token: str) -> None:
        """Forget `token` (the API refused it); a token fetched since then is kept."""
        if self._token == token:
            self._token = None

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        self.fetches += 1
        spec = self.spec
        form = {"grant_type": "client_credentials"}
        if spec.scope:
            form["scope"] = spec.scope
        if spec.audience:
            form["audience"] = spec.audience
        headers = {}
        if spec.client_auth == "basic":
            pair = f"{spec.client_id}:{spec.client_secret.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": spec.client_id,
                     "client_secret": spec.client_secret.get_secret_value()}
        try:
            async with session.post(spec.token_url, data=form, headers=headers) as resp:
                raw = await resp.read()
                if not 200 <= resp.status < 300:
                    raise self._refused(resp, raw)
                return self._parse(raw)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise from_client_error(self.source, exc, self._where) from exc

    def _refused(self, resp: aiohttp.ClientResponse, raw: bytes) -> SourceError:
        if resp.status == 429 or resp.status >= 500:
            error = from_status(self.source, resp.status, self._where, resp.headers.get("Retry-After"))
            assert isinstance(error, SourceError)  # 429 and 5xx are always the source's
            return error
        code = _oauth_error(raw)
        hint = f" ({code})" if code else ""
        return SourceError(
            self.source, f"OAuth2 token request refused with HTTP {resp.status}{hint} by {self._where}"
        )

    def _parse(self, raw: bytes) -> tuple[str, float]:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(self.source, f"{self._where} answered without an access_token")
        expires = body.get("expires_in") if isinstance(body, dict) else None
        try:
            seconds = float(expires) if expires is not None else math.inf
        except (TypeError, ValueError):
            seconds = math.inf
        return token, max(0.0, seconds - self.spec.refresh_margin)


def _oauth_error(raw: bytes) -> str | None:
    """The RFC 6749 `error` code of a refusal, when it is a plain short code (never free text)."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and _OAUTH_ERROR.match(code) else None
