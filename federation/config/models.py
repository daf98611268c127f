"""Pydantic models of the config file; a source's own options are validated by its connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from federation.model.declaration import ModelDecl

__all__ = ["Config", "GatewaySettings", "SourceSettings"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GatewaySettings(_Closed):
    """Engine-wide settings."""

    max_hops: int = Field(default=3, ge=0, le=10, description="identity expansion rounds")
    region: str = Field(default="GB", description="default region for phone numbers")
    request_timeout: float = Field(default=10.0, gt=0, description="deadline for one request")
    max_search_rows: int = Field(default=1000, gt=0, description="rows a source may return to a search")
    graphiql: bool = True


class SourceSettings(_Closed):
    """What every source has, whatever its connector."""

    type: str
    description: str = ""
    timeout: float = Field(default=3.0, gt=0, description="seconds per call")
    options: dict[str, Any] = Field(default_factory=dict)


class Config(_Closed):
    """A whole validated config."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    file: Path
    gateway: GatewaySettings = GatewaySettings()
    model: ModelDecl
    sources: dict[str, SourceSettings]
    validated_options: dict[str, Any] = Field(default_factory=dict)
