"""Per-role field policy: allow, deny or mask each `Type.field`, decided once and cached.

Entity types and `Query` are deny-by-default: a role reads only what its `allow` patterns name.
Structural types (Money, PageInfo, SourceRecord, Conflict, TimelineEntry…) are reachable only
through an allowed entity field, so they are allowed unless a rule says otherwise — which is
how free text that may hold personal data (`TimelineEntry.summary`, `SourceRecord.linkedBy`,
`ConflictValue.value`) gets its own mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from federation.security.settings import RoleSettings

__all__ = ["ALLOW", "Decision", "Policy"]


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["allow", "deny", "mask"]
    mask: str | None = None


ALLOW = Decision("allow")
DENY = Decision("deny")


def _specificity(pattern: str, type_name: str, field: str) -> int:
    """3 for Type.field, 2 for Type.*, 1 for *.field or *, 0 when the pattern does not match."""
    if pattern == "*":
        return 1
    ptype, _, pfield = pattern.partition(".")
    if ptype not in ("*", type_name) or pfield not in ("*", field):
        return 0
    return 1 + (ptype != "*") + (pfield != "*")


def _best(patterns: Iterable[str], type_name: str, field: str) -> int:
    return max((_specificity(p, type_name, field) for p in patterns), default=0)


class Policy:
    """The decisions of one role; `guarded` types are deny-by-default."""

    def __init__(self, name: str, settings: RoleSettings, guarded: frozenset[str]) -> None:
        self.name = name
        self.settings = settings
        self.guarded = guarded
        self._cache: dict[tuple[str, str], Decision] = {}
        # Contact data redacted inside every free-text string this role reads.
        self.redacts = settings.redacts

    def decide(self, type_name: str, field: str) -> Decision:
        key = (type_name, field)
        decision = self._cache.get(key)
        if decision is None:
            decision = self._cache[key] = self._decide(type_name, field)
        return decision

    def _decide(self, type_name: str, field: str) -> Decision:
        if type_name.startswith("__") or field.startswith("__"):
            return ALLOW if self.settings.introspection else DENY
        denied = _best(self.settings.deny, type_name, field)
        allowed = _best(self.settings.allow, type_name, field)
        masked = [(s, m) for p, m in self.settings.mask.items() if (s := _specificity(p, type_name, field))]
        if denied and denied >= allowed:
            return DENY
        if masked:
            return Decision("mask", max(masked)[1])
        if allowed or type_name not in self.guarded:
            return ALLOW
        return DENY

    @property
    def unrestricted(self) -> bool:
        """True when the role reads everything unmasked (no per-field work needed)."""
        return ("*" in self.settings.allow and not self.settings.deny and not self.settings.mask
                and not self.redacts)
