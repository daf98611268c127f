"""Who is calling: API keys (stored hashed) and JWT bearer tokens; one uniform failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt

from federation.security.settings import JwtSettings, SecuritySettings

__all__ = ["AuthError", "Authenticator", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    kind: str  # "api_key" | "jwt" | "anonymous"


class AuthError(Exception):
    """No or bad credentials. Deliberately without detail: the client sees only 401."""


class Authenticator:
    """Checks the `Authorization: Bearer` JWT or the `X-Api-Key` header."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.settings = settings
        self._keys = [(bytes.fromhex(k.sha256), k) for k in settings.api_keys]
        self._jwt = _JwtVerifier(settings.jwt) if settings.jwt else None
        # Principals are immutable: every anonymous request gets the same one.
        self._anonymous = Principal("anonymous", settings.anonymous_role, "anonymous") if settings.anonymous_role \
            else None

    def authenticate(self, headers: Any) -> Principal:
        api_key = headers.get("X-Api-Key")
        authorization = headers.get("Authorization", "")
        if api_key:
            return self._api_key(api_key)
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token or self._jwt is None:
                raise AuthError
            return self._jwt.verify(token.strip())
        if self._anonymous is not None:
            return self._anonymous
        raise AuthError

    def _api_key(self, presented: str) -> Principal:
        digest = hashlib.sha256(presented.encode()).digest()
        match = None
        for stored, key in self._keys:  # compare against every key: timing says nothing
            if hmac.compare_digest(stored, digest):
                match = key
        if match is None:
            raise AuthError
        return Principal(match.name, match.role, "api_key")


class _JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKSet | None = None
        if settings.jwks_file is not None:
            self._jwks = jwt.PyJWKSet.from_dict(json.loads(settings.jwks_file.read_text("utf-8")))

    def _key(self, token: str) -> Any:
        if self.settings.secret is not None:
            return self.settings.secret.get_secret_value()
        if self.settings.public_key is not None:
            return self.settings.public_key.get_secret_value()
        assert self._jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key.key
        raise AuthError

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError from exc
        start = claims.get("iat")
        start = start if isinstance(start, int | float) else time.time()
        if claims["exp"] - start > self.settings.max_lifetime + self.settings.leeway:
            raise AuthError  # a token that would stay valid for longer than any session should
        role = claims.get(self.settings.role_claim)
        if not isinstance(role, str):
            raise AuthError
        return Principal(str(claims["sub"]), role, "jwt")
