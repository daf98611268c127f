"""The `identity:` section of an entity: fuzzy matching rules, their blocking and their thresholds.

```yaml
Customer:
  identity:
    rules:
      person:
        blocking: [[dateOfBirth], [postcode]]   # candidates share one of these (pushed to sources)
        compare:
          name: {method: name, weight: 0.5}
          dateOfBirth: {method: date, weight: 0.3}
          postcode: {method: exact, weight: 0.2}
        link: 0.93        # at or above: one person, but only when autoLink is true
        suggest: 0.7      # at or above (and below link): offered as a possibleMatch
        autoLink: false   # weak evidence never merges silently unless said so
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["METHODS", "CompareDecl", "IdentityDecl", "Method", "RuleDecl"]

Method = Literal["name", "date", "address", "text", "exact"]
METHODS: tuple[str, ...] = ("name", "date", "address", "text", "exact")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CompareDecl(_Closed):
    """One comparison of a rule: how two values of a field or key score, and how much it counts."""

    method: Method = "exact"
    weight: float = Field(default=1.0, gt=0, le=100)
    missing: float = Field(default=0.5, ge=0, le=1,
                           description="score used when either record lacks the value (0.5: no evidence)")


class RuleDecl(_Closed):
    """One fuzzy rule: which candidates to fetch (blocking), how to score them, what to do."""

    blocking: tuple[tuple[str, ...], ...] = Field(min_length=1)
    compare: dict[str, CompareDecl] = Field(min_length=1)
    link: float = Field(default=0.95, ge=0, le=1)
    suggest: float = Field(default=0.75, ge=0, le=1)
    auto_link: bool = Field(default=False, alias="autoLink")
    max_block: int = Field(default=50, ge=1, le=10_000, alias="maxBlock",
                           description="a block value holding more records than this is too common to use")
    description: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> RuleDecl:
        if self.suggest > self.link:
            raise ValueError(f"suggest ({self.suggest}) must not be above link ({self.link})")
        if any(not block for block in self.blocking):
            raise ValueError("a blocking key names at least one field or key")
        return self

    def members(self) -> set[str]:
        """Every field or key the rule reads."""
        return {part for block in self.blocking for part in block} | set(self.compare)


class IdentityDecl(_Closed):
    """Fuzzy identity rules of one entity, by name."""

    rules: dict[str, RuleDecl] = Field(default_factory=dict)

    def problems(self, fields: set[str], keys: set[str]) -> list[str]:
        """Rule members that are neither a field nor a key of the entity, as `path: problem (valid)`."""
        valid = ", ".join(sorted(fields | keys))
        out = []
        for name, rule in self.rules.items():
            for i, block in enumerate(rule.blocking):
                out += [f"identity.rules.{name}.blocking[{i}]: no field or key '{p}' (valid: {valid})"
                        for p in block if p not in fields and p not in keys]
            out += [f"identity.rules.{name}.compare.{c}: no field or key '{c}' (valid: {valid})"
                    for c in rule.compare if c not in fields and c not in keys]
        return out
