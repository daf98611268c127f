"""How much of a hand-written mapping a draft got right the first time.

Each mapped item of the hand-written source counts once: every entity's `id` and `region`, and
each of its `fields`, `keys` and `refs`. A drafted item is right when the draft maps the same
entity from the same table (a hand-written `select` counts as its first FROM table) or endpoint
(path parameters ignored), reads the same columns or paths in the same order, and applies the
same transform steps; an enum code table must agree on every code the hand-written one lists
(currencies and date formats are compared by step name only). Items the draft left out, or
wrote only as a commented proposal, are wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Score", "score_draft"]

_FROM = re.compile(r"\bfrom\s+([A-Za-z0-9_.\"`]+)", re.IGNORECASE)
_PARAMS = re.compile(r"(?<=/)(\{[^}]*\}|\d+)(?=/|$)")  # a path parameter, or the value written into it


@dataclass(slots=True)
class Score:
    right: int = 0
    total: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0


def score_draft(draft: Mapping[str, Any], hand: Mapping[str, Any], entities: set[str] | None = None) -> Score:
    """Score one drafted source block against the hand-written one (both as parsed YAML)."""
    score = Score()
    drafted = draft.get("entities") or {}
    for entity, mapping in (hand.get("entities") or {}).items():
        if entities is not None and entity not in entities:
            continue
        other = drafted.get(entity) or {}
        same_origin = bool(other) and _origin(other) == _origin(mapping)
        for label, spec in _items(mapping):
            score.total += 1
            mine = dict(_items(other)).get(label) if same_origin else None
            if mine is not None and _same(mine, spec):
                score.right += 1
            else:
                score.wrong.append(f"{entity}.{label}")
    return score


def _items(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    out = [(k, mapping[k]) for k in ("id", "region") if k in mapping]
    for section in ("fields", "keys", "refs"):
        out += [(f"{section}.{k}", v) for k, v in (mapping.get(section) or {}).items()]
    return out


def _origin(mapping: Mapping[str, Any]) -> str:
    if "table" in mapping:
        return str(mapping["table"]).split(".")[-1].strip('"`').lower()
    if "select" in mapping:
        found = _FROM.search(str(mapping["select"]))
        return found.group(1).split(".")[-1].strip('"`').lower() if found else ""
    return _PARAMS.sub("{}", str(mapping.get("path", ""))) + "|" + str(mapping.get("records", "@"))


def _parts(spec: Any) -> tuple[tuple[str, ...], list[Any], Any]:
    if isinstance(spec, str):
        return (spec.lower(),), [], None
    if not isinstance(spec, Mapping):
        return (), [], None
    origin = next((spec[k] for k in ("column", "columns", "path", "paths") if k in spec), ())
    origin = (origin,) if isinstance(origin, str) else tuple(origin)
    steps = spec.get("transform") or []
    return tuple(str(o).lower() for o in origin), list(steps if isinstance(steps, list) else [steps]), spec.get("value")


def _same(mine: Any, theirs: Any) -> bool:
    origin, steps, value = _parts(mine)
    their_origin, their_steps, their_value = _parts(theirs)
    if origin != their_origin or value != their_value or len(steps) != len(their_steps):
        return False
    return all(_same_step(a, b) for a, b in zip(steps, their_steps, strict=True))


def _same_step(mine: Any, theirs: Any) -> bool:
    name = mine if isinstance(mine, str) else next(iter(mine), "")
    their_name = theirs if isinstance(theirs, str) else next(iter(theirs), "")
    if name != their_name:
        return False
    if name == "enum" and isinstance(theirs, Mapping) and isinstance(mine, Mapping):
        table = {str(k).lower(): str(v).upper() for k, v in (mine["enum"] or {}).items()}
        return all(table.get(str(k).lower()) == str(v).upper() for k, v in theirs["enum"].items())
    return True
