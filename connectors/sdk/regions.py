"""`region:` in a mapping: the country a source writes its phone numbers in.

A region is given at source level, per entity mapping or per mapped field/key; the most specific
wins (field > entity > source > `gateway.region`). Each is a fixed country (`region: FR`,
`region: France`) or the row's own country column (`region: {column: country}` in SQL,
`region: {path: address.country}` in JSON). A row whose country is empty is read in the next
fixed region down the chain; one whose country names nothing known is too, with a field note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from federation.messages import cut
from federation.regions import region_code, region_or_error

__all__ = ["Region", "RegionRule", "RowRegion", "region_rule"]


class RowRegion(BaseModel):
    """`{column: country}` / `{path: address.country}`: the row holds a country name or ISO code."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    origin: str = Field(validation_alias=AliasChoices("column", "path"), min_length=1)


def _parse(value: Any) -> Any:
    if isinstance(value, RowRegion):
        return value
    if isinstance(value, dict):
        origin = value.get("column", value.get("path"))
        if len(value) != 1 or not isinstance(origin, str) or not origin.strip():
            raise ValueError("a per-row country is {column: <column>} (SQL) or {path: <path>} (JSON), "
                             f"got {{{', '.join(map(str, value))}}}")
        return RowRegion(origin=origin)
    return region_or_error(value)


Region = Annotated[str | RowRegion, BeforeValidator(_parse)]


@dataclass(frozen=True, slots=True)
class RegionRule:
    """The region one mapped value is read in: `fixed`, or the row's `origin` when it names one."""

    fixed: str
    origin: str | None = None

    def of(self, get: Callable[[str], Any]) -> tuple[str, str | None]:
        """(region, problem): the row's region, and what was wrong with its country if anything."""
        if self.origin is None:
            return self.fixed, None
        try:
            raw = get(self.origin)
        except (KeyError, ValueError, TypeError):
            return self.fixed, None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.fixed, None
        code = region_code(raw) if isinstance(raw, str) else region_code(str(raw)) if isinstance(raw, int) else None
        if code is None:
            return self.fixed, (f"country '{cut(str(raw))}' (from {self.origin}) is not a known country; "
                                f"numbers read in {self.fixed}")
        return code, None


def region_rule(levels: Sequence[str | RowRegion | None], default: str) -> RegionRule:
    """The rule of the most specific level given; a row country falls back to the next fixed one."""
    for i, level in enumerate(levels):
        if isinstance(level, str):
            return RegionRule(level)
        if isinstance(level, RowRegion):
            fallback = next((lv for lv in levels[i + 1:] if isinstance(lv, str)), default)
            return RegionRule(fallback, level.origin)
    return RegionRule(default)
