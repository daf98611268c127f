"""The `security:` section: who may call, what each role may read, limits, audit, rate limits."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from federation.security.masks import CONTACT_MASKS, MASKS

__all__ = [
    "ApiKeySettings",
    "AuditSettings",
    "JwtSettings",
    "LimitSettings",
    "RateLimitSettings",
    "RoleSettings",
    "SecuritySettings",
    "open_access",
    "unwritable",
]

_CLOSED = ConfigDict(extra="forbid")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PATTERN = re.compile(r"^(\*|[A-Za-z_][A-Za-z0-9_]*)\.(\*|[A-Za-z_][A-Za-z0-9_]*)$|^\*$")


class ApiKeySettings(BaseModel):
    """One API key, stored as the SHA-256 hex digest of the key (never the key itself)."""

    model_config = _CLOSED
    name: str
    sha256: str
    role: str

    @field_validator("sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX64.match(value):
            raise ValueError("must be the 64-character hex SHA-256 of the key: printf %s KEY | sha256sum")
        return value


class JwtSettings(BaseModel):
    """Bearer JWTs: algorithms fixed here (never taken from the token), exp/aud/iss required."""

    model_config = _CLOSED
    algorithms: tuple[Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256"], ...] = ("RS256",)
    secret: SecretStr | None = None
    public_key: SecretStr | None = None
    jwks_file: Path | None = None
    audience: str
    issuer: str
    role_claim: str = "role"
    leeway: float = Field(default=30, ge=0, le=300)
    # A stolen token is good until it expires: refuse tokens that live longer than this (from
    # `iat` when present, else from now), as identity providers issue minutes-to-hours tokens.
    max_lifetime: float = Field(default=86_400, gt=0, le=30 * 86_400)

    @model_validator(mode="after")
    def _one_key(self) -> JwtSettings:
        keys = [k for k in (self.secret, self.public_key, self.jwks_file) if k is not None]
        if len(keys) != 1:
            raise ValueError("give exactly one of secret (HS*), public_key (PEM) or jwks_file")
        hmac = {a for a in self.algorithms if a.startswith("HS")}
        if hmac and len(hmac) != len(self.algorithms):
            raise ValueError("never mix HS* with RS*/ES* algorithms")
        if hmac and self.secret is None:
            raise ValueError("HS* algorithms need 'secret'")
        if not hmac and self.secret is not None:
            raise ValueError("'secret' is only for HS* algorithms")
        return self


class RoleSettings(BaseModel):
    """What one role may read. Deny by default: only `allow` patterns (`Type.field`, `Type.*`, `*`)."""

    model_config = _CLOSED
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    mask: dict[str, str] = Field(default_factory=dict)
    denied: Literal["null", "error"] = "null"
    introspection: bool = False
    redact: tuple[Literal["email", "phone", "card"], ...] | None = Field(
        default=None, description="contact data to redact inside every free-text string the role reads; "
                                   "default: all three when the role masks any contact field, else none")

    @property
    def redacts(self) -> frozenset[str]:
        """What this role's free text is redacted of (the default follows its masks)."""
        if self.redact is not None:
            return frozenset(self.redact)
        return frozenset(("email", "phone", "card")) if CONTACT_MASKS & set(self.mask.values()) else frozenset()

    @field_validator("allow", "deny")
    @classmethod
    def _patterns(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not _PATTERN.match(value):
                raise ValueError(f"'{value}' is not Type.field, Type.* or *")
        return values

    @field_validator("mask")
    @classmethod
    def _masks(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern, mask in value.items():
            if not _PATTERN.match(pattern):
                raise ValueError(f"'{pattern}' is not Type.field")
            if mask not in MASKS:
                raise ValueError(f"unknown mask '{mask}' for {pattern}; valid: {', '.join(MASKS)}")
        return value


class LimitSettings(BaseModel):
    """Query limits, checked before any source is called."""

    model_config = _CLOSED
    max_depth: int = Field(default=8, ge=1)
    max_aliases: int = Field(default=100, ge=0)  # a 50-record batch of aliased lookups fits
    max_tokens: int = Field(default=2000, ge=10)
    max_document_chars: int = Field(default=15000, ge=100)
    max_cost: int = Field(default=5000, ge=1)
    assumed_list_size: int = Field(default=5, ge=1)
    introspection: bool = True
    persisted_queries: Path | None = Field(default=None, description="folder of allowed .graphql documents")


class AuditSettings(BaseModel):
    """Append-only audit of data access, durable before the response is sent: a JSONL file per
    instance (`path`, fsynced) or one table shared by every instance (`url`, committed)."""

    model_config = _CLOSED
    path: Path | None = Field(default=None, description="JSONL file, relative to the config file")
    # repr=False: the URL may carry a password, and settings objects end up in logs and tracebacks.
    url: str | None = Field(default=None, repr=False, description="database URL of the shared audit table")
    fsync: bool = Field(default=True, description="for `path`: fsync each line before the answer is sent")

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            make_url(value)
        except ArgumentError:
            # The message never repeats the value: it may hold a password.
            raise ValueError("not a database URL; write e.g. postgresql://user:${AUDIT_DB_PASSWORD}@host/db "
                             "or sqlite+aiosqlite:///audit.db") from None
        return value

    @field_validator("path")
    @classmethod
    def _writable(cls, value: Path | None) -> Path | None:
        problem = unwritable(value) if value is not None and value.is_absolute() else None
        if problem:
            raise ValueError(f"cannot write the audit file {value}: {problem}")
        return value

    @model_validator(mode="after")
    def _one_sink(self) -> AuditSettings:
        if (self.path is None) == (self.url is None):
            given = "both were given" if self.path is not None else "neither was given"
            raise ValueError(f"give exactly one of path (a JSONL file per instance) or url (one database table "
                             f"shared by every instance); {given}")
        if self.url is not None and "fsync" in self.model_fields_set:
            raise ValueError("fsync is for path only: with url each entry is committed before the answer is sent")
        return self


def unwritable(path: Path) -> str | None:
    """Why the gateway could not append to `path` (None: it can), checked without creating anything:
    `check` says so, and `serve` refuses to start, rather than every audited answer being withheld."""
    if path.is_dir():
        return "it is a folder"
    if path.exists():
        return None if os.access(path, os.W_OK) else "no permission to write it"
    folder = path.parent
    while not folder.exists():  # the gateway creates missing folders: the first existing one decides
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"no permission to create files in {folder}"


class RateLimitSettings(BaseModel):
    """Token bucket per principal."""

    model_config = _CLOSED
    rate: float = Field(default=20, gt=0, description="requests per second refilled")
    burst: int = Field(default=40, ge=1)
    shared: bool = Field(default=True, description="one bucket per principal in `gateway.redis_url`, when set, "
                                                   "for every process and instance; else one per process")


def open_access(role: str = "open") -> dict[str, Any]:
    """A `security:` section giving anonymous callers full access: for demos and benchmarks only."""
    return {"anonymous_role": role, "roles": {role: {"allow": ["*"]}}}


class SecuritySettings(BaseModel):
    """The whole `security:` section. Without it, the gateway refuses every request."""

    model_config = _CLOSED
    anonymous_role: str | None = Field(default=None, description="role for requests without credentials")
    api_keys: tuple[ApiKeySettings, ...] = ()
    jwt: JwtSettings | None = None
    roles: dict[str, RoleSettings] = Field(default_factory=dict)
    limits: LimitSettings = LimitSettings()
    audit: AuditSettings | None = None
    rate_limit: RateLimitSettings | None = None

    @model_validator(mode="after")
    def _roles_exist(self) -> SecuritySettings:
        named = [k.role for k in self.api_keys] + ([self.anonymous_role] if self.anonymous_role else [])
        unknown = sorted({r for r in named if r not in self.roles})
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; declared roles: {', '.join(self.roles) or 'none'}")
        return self
