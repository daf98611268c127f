"""`customers(match: {...})`: the store clerk's question, "who is this?", without an id.

The typed values become a synthetic record (`federation/identity/walkin.py`); its blocking values
fetch candidates through the engine's identity blocking (batched, guarded source calls), each
candidate is scored with the entity's rules, and candidates are answered as the unified customers
they belong to, best match first, each with `match { score reasons matchedByKeys explanation }`.
An exact email or phone hit is a match too (score 1, `matched by key`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import strawberry

from federation.api.context import engine_request
from federation.api.identity import explanation
from federation.api.types import MatchExplanation
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import QueryError
from federation.identity.walkin import Candidate, MatchInputError, input_members, probe_record, score_candidates
from federation.keys import normalize_email, phone_match_keys
from federation.model.declaration import EntityDecl
from federation.security import Policy
from federation.security.auth import Principal
from federation.security.extension import PRINCIPAL, Forbidden

__all__ = ["WalkInMatch", "caller_policy", "match_field", "match_input", "walk_in"]

ENTITY = "Customer"
CONTEXT = "onepane.walkin"   # Request.notes: unified id → how the walk-in matched it


@strawberry.type(description=(
    "How a customer matched `customers(match:)`: the best match probability over its records (1 for an "
    "exact key), why in words, the keys that hit, and the best fuzzy pair as data."))
class WalkInMatch:
    score: float = strawberry.field(description="The best match probability (1.0: an exact key hit).")
    reasons: list[str] = strawberry.field(description=(
        "`matched by key: email = …`, and the rule's explanation in words, best first."))
    matchedByKeys: list[str] = strawberry.field(description="The exact keys typed that this customer holds.")
    explanation: MatchExplanation | None = strawberry.field(description=(
        "The best fuzzy pair (typed values ~ a record): per comparison the level and its weight, summing "
        "to the match weight; `other` is that record. Null when only a key matched."))


@dataclass
class _Found:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    best: Candidate | None = None


def match_input(decl: EntityDecl) -> type:
    """The `CustomerMatch` input: what a clerk can type (the model's names)."""
    members = input_members(decl)
    described = {"name": "The whole name as said (\"Tommy Green\"); split into given and family where the rule "
                         "compares two fields.",
                 "dateOfBirth": "A date of birth, YYYY-MM-DD or YYYYMMDD.",
                 "email": "An email address: an exact key.", "phone": "A phone number: an exact key."}
    attrs: dict[str, Any] = {"__annotations__": dict.fromkeys(members, str | None)}
    for member in members:
        attrs[member] = strawberry.field(default=None, description=described.get(member, (
            f"Compared by the identity rules' `{member}` comparison.")))
    return strawberry.input(type(f"{ENTITY}Match", (), attrs), description=(
        "A walk-in customer's details: at least one. Matched across every source by the identity rules and "
        "the exact keys."))


def match_field() -> tuple[Callable[..., Any], Any, str]:
    """(resolver, type, description) of `Customer.match`."""

    def resolve(root: Unified, info: strawberry.Info) -> WalkInMatch | None:
        found = engine_request(info).notes.get(CONTEXT, {}).get(root.id)
        return None if found is None else _graphql(found)

    return resolve, WalkInMatch | None, (
        "How this customer matched `customers(match:)`; null when the query asked no `match`.")


async def walk_in(request: Request, typed: Any, policy: Policy | None) -> list[Unified]:
    """Unified customers matching what the clerk typed, best first, at or above each rule's `suggest`;
    `policy`: the caller's role (None: reads everything), which must read what it matches on."""
    decl = request.model.entities[ENTITY]
    values = {m: getattr(typed, m, None) for m in input_members(decl)}
    values = {m: v for m, v in values.items() if v is not None and str(v).strip()}
    if not values:
        raise QueryError(f"match: give at least one of {', '.join(input_members(decl))}", "match")
    region = request.gateway.config.gateway.region
    try:
        probe = probe_record(ENTITY, decl, values, region)
    except MatchInputError as exc:
        raise QueryError(str(exc), exc.argument) from None
    _may_read(policy, probe.fields)
    found: dict[str, _Found] = {}
    order: dict[str, Unified] = {}
    for key, units in await _key_hits(request, values, region):
        for unit in units:
            hit = found.setdefault(unit.id, _Found())
            order.setdefault(unit.id, unit)
            hit.score = 1.0
            hit.keys.append(key)
            hit.reasons.append(f"matched by key: {key} = {values[key]}")
    if decl.identity is not None and decl.identity.rules:
        candidates = await request.fuzzy_candidates(ENTITY, [probe])
        scored = score_candidates(decl.identity, probe, candidates, request.gateway.identity_models.get(ENTITY))
        units = await request.unify(ENTITY, [c.record for c in scored]) if scored else []
        for candidate in scored:
            owner = next((u for u in units if candidate.record in u.records), None)
            if owner is None:
                continue
            hit = found.setdefault(owner.id, _Found())
            order.setdefault(owner.id, owner)
            if hit.best is None:   # `scored` is best first: the first of a unit's records is its best
                hit.best = candidate
                hit.score = max(hit.score, candidate.match.offered)
                hit.reasons.append(candidate.match.score.explain() + f" ~ {candidate.record.ref}")
    request.notes.setdefault(CONTEXT, {}).update(found)
    return sorted(order.values(), key=lambda u: -found[u.id].score)


def caller_policy(info: Any, request: Request) -> Policy | None:
    """The role policy of strawberry's caller; None without security or a known role."""
    security = request.gateway.config.security
    principal = info.context.get(PRINCIPAL) if isinstance(info.context, dict) else None
    if security is None or not isinstance(principal, Principal) or principal.role not in security.roles:
        return None
    return Policy(principal.role, security.roles[principal.role],
                  frozenset(request.model.entities) | {"Query", "Mutation"})


def _may_read(policy: Policy | None, fields: Iterable[str]) -> None:
    """Matching on a field is reading it: FORBIDDEN for a field the role may not read, before any
    source call (the typed `name` fills the rule's given and family fields too)."""
    if policy is None:
        return
    for name in sorted(fields):
        if policy.decide(ENTITY, name).action == "deny":
            raise Forbidden(ENTITY, name)


async def _key_hits(request: Request, values: dict[str, Any], region: str) -> list[tuple[str, list[Unified]]]:
    out = []
    if "email" in values:
        email = normalize_email(str(values["email"]), region)
        if email is None:
            raise QueryError(f"match.email: '{values['email']}' is not an email address", "match.email")
        out.append(("email", await request.find(ENTITY, "email", [email])))
    if "phone" in values:
        keys = phone_match_keys(str(values["phone"]), region)
        out.append(("phone", await request.find(ENTITY, "phone", list(keys)) if keys else []))
    return out


def _graphql(found: _Found) -> WalkInMatch:
    best = found.best
    return WalkInMatch(score=found.score, reasons=list(found.reasons), matchedByKeys=list(found.keys),
                       explanation=None if best is None else explanation(best.match.score, best.record))
