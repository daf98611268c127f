"""What `federation import` asks a connector for: a draft source block, and how it fails.

The core stays generic: it finds the connector that offers an import kind (`sql`, `openapi`)
through the registry and calls its `draft` hook (federation/contract.py); the introspection and
the guessing live with the connectors (connectors/sdk/drafting/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from federation.model.declaration import ModelDecl

__all__ = ["DraftError", "DraftRequest"]


class DraftError(Exception):
    """The source could not be read for a draft: one message naming what failed (no secrets)."""


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """Where to draft from and how much to read."""

    target: str  # a database URL, an OpenAPI file or URL
    model: ModelDecl
    name: str | None = None  # the source's name in the config; derived from the target when None
    schema: str | None = None
    tables: tuple[str, ...] = ()
    sample_rows: int = 300
    timeout: float = 10.0  # seconds for connecting and for each statement or download
    region: str | None = None  # the country numbers without a country code are read in
    currency: str | None = None  # the currency amounts are in, when the source does not say
    base_dir: Path = field(default_factory=Path.cwd)

    def __post_init__(self) -> None:
        if not 1 <= self.sample_rows <= 10_000:
            raise ValueError("sample_rows must be between 1 and 10000")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
