"""A guess: the mapping value drafted, why, how sure, and the question left when unsure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.sdk.drafting.profile import TableProfile

__all__ = ["EntityDraft", "Guess", "Sure"]

Sure = Literal["high", "medium", "low"]


@dataclass(frozen=True, slots=True)
class Guess:
    """One mapping value (`"email"`, `{columns: [...], transform: [...]}`) and the reason for it."""

    spec: Any
    why: str
    sure: Sure
    todo: str = ""  # the question to answer before trusting it (rendered `# TODO: …`)
    commented: bool = False  # a proposal that would not pass `federation check` yet: written as a comment

    def origins(self) -> tuple[str, ...]:
        if isinstance(self.spec, str):
            return (self.spec,)
        if isinstance(self.spec, dict):
            found = self.spec.get("column") or self.spec.get("columns") or self.spec.get("path") or ()
            return (found,) if isinstance(found, str) else tuple(found)
        return ()


@dataclass(slots=True)
class EntityDraft:
    """One entity drafted from one table or endpoint."""

    entity: str
    table: TableProfile
    why: str
    sure: Sure
    id: Guess
    region: Guess | None = None
    fields: dict[str, Guess] = field(default_factory=dict)
    keys: dict[str, Guess] = field(default_factory=dict)
    refs: dict[str, Guess] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # model fields no column was found for
    others: list[str] = field(default_factory=list)  # runner-up tables for this entity
    hints: list[str] = field(default_factory=list)  # missing fields another table holds
