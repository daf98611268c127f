"""The `identity:` section of an entity: fuzzy matching rules, their blocking and their thresholds.

```yaml
Customer:
  identity:
    model: identity-model.json   # trained by `federation identity train CONFIG`; optional
    rules:
      person:
        blocking: [[dateOfBirth], [postcode]]   # candidates share one of these (pushed to sources)
        compare:
          name: {method: name, fields: [givenName, familyName]}
          dateOfBirth: {method: date}
          postcode: {method: code}
        link: 0.95        # LINK: at or above, one person (only when autoLink)
        suggest: 0.75     # SUGGEST: at or above (and below link), a possibleMatch
        # autoLink: true when a trained model is configured, false without one
```

With a trained `model`, a pair's score is its Fellegi-Sunter match probability; without one it is
the weighted mean of the comparisons' similarities (`weight`, `missing`). The thresholds are the
same numbers either way: `LINK` and `SUGGEST` below are the only place they are written.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["LINK", "METHODS", "SUGGEST", "CompareDecl", "IdentityDecl", "Method", "RuleDecl"]

Method = Literal["name", "date", "code", "address", "text", "exact"]
METHODS: tuple[str, ...] = ("name", "date", "code", "address", "text", "exact")
LINK = 0.95      # default `link`: a score at or above it links (where the rule auto-links)
SUGGEST = 0.75   # default `suggest`: a score at or above it (and below `link`) is a possibleMatch


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CompareDecl(_Closed):
    """One comparison of a rule: how two values of a field or key score, and how much it counts."""

    method: Method = "exact"
    fields: tuple[str, ...] = Field(default=(), description=(
        "fields or keys read (default: the comparison's own name); for `name`, [given, family]"))
    shared: bool | None = Field(default=None, description=(
        "a value people who live together share (default: true for `address`): with a trained model it "
        "does not count towards linking two records whose names disagree"))

    @property
    def household(self) -> bool:
        """Shared by a household: `shared` as written, else true for addresses."""
        return self.shared if self.shared is not None else self.method == "address"
    weight: float = Field(default=1.0, gt=0, le=100)
    missing: float = Field(default=0.5, ge=0, le=1,
                           description="score used when either record lacks the value (0.5: no evidence)")


class RuleDecl(_Closed):
    """One fuzzy rule: which candidates to fetch (blocking), how to score them, what to do."""

    blocking: tuple[tuple[str, ...], ...] = Field(min_length=1)
    compare: dict[str, CompareDecl] = Field(min_length=1)
    link: float = Field(default=LINK, ge=0, le=1)
    suggest: float = Field(default=SUGGEST, ge=0, le=1)
    auto_link: bool = Field(default=False, alias="autoLink",
                            description="link at or above `link`; default true when a trained model is configured")
    max_block: int = Field(default=50, ge=1, le=10_000, alias="maxBlock",
                           description="a block value holding more records than this is too common to use")
    description: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> RuleDecl:
        for name, spec in self.compare.items():
            if spec.method == "name" and len(spec.fields) > 2:
                raise ValueError(f"compare.{name}.fields: a name reads one field (the whole name) "
                                 "or two ([given, family])")
        if self.suggest > self.link:
            raise ValueError(f"suggest ({self.suggest}) must not be above link ({self.link})")
        if any(not block for block in self.blocking):
            raise ValueError("a blocking key names at least one field or key")
        return self

    def reads(self, name: str) -> tuple[str, ...]:
        """The fields or keys comparison `name` reads."""
        return self.compare[name].fields or (name,)

    def members(self) -> set[str]:
        """Every field or key the rule reads."""
        return {part for block in self.blocking for part in block} | {m for c in self.compare for m in self.reads(c)}

    def links_automatically(self, trained: bool) -> bool:
        """`autoLink` as written; unwritten, true exactly when a trained model scores the rule."""
        return self.auto_link if "auto_link" in self.model_fields_set else trained


class IdentityDecl(_Closed):
    """Fuzzy identity rules of one entity, by name."""

    model: str | None = Field(default=None, description=(
        "trained model file (`federation identity train`), relative to the config file"))
    rules: dict[str, RuleDecl] = Field(default_factory=dict)
    splink_columns: dict[str, str] = Field(default_factory=dict, alias="splinkColumns", description=(
        "with a Splink model file: Splink column → the field or key it is (`surname: familyName`); "
        "columns named like a field (`given_name` ~ givenName) need no entry"))

    def problems(self, fields: set[str], keys: set[str]) -> list[str]:
        """Rule members that are neither a field nor a key of the entity, as `path: problem (valid)`."""
        valid = ", ".join(sorted(fields | keys))
        out = []
        for name, rule in self.rules.items():
            for i, block in enumerate(rule.blocking):
                out += [f"identity.rules.{name}.blocking[{i}]: no field or key '{p}' (valid: {valid})"
                        for p in block if p not in fields and p not in keys]
            out += [f"identity.rules.{name}.compare.{c}: no field or key '{m}' (valid: {valid})"
                    for c in rule.compare for m in rule.reads(c) if m not in fields and m not in keys]
        return out
