"""GraphQL for identity: `possibleMatches` on entities with fuzzy rules, and the override mutations.

Overrides change who a customer is for every agent, so besides the role layer (Mutation is
deny-by-default like Query) a role needs an `allow` pattern that names `Mutation` itself:
`allow: ["*"]` alone reads everything but does not link records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry

from federation.api.context import engine_request
from federation.api.types import ComparisonWeight, MatchExplanation
from federation.engine.request import Request
from federation.engine.unified import Unified
from federation.errors import NotFound, QueryError, SourceError
from federation.identity.overrides import Kind, Override
from federation.identity.scoring import Score
from federation.model.declaration import ModelDecl
from federation.records import SourceRef, parse_source_ref
from federation.security.auth import Principal
from federation.security.extension import PRINCIPAL, Forbidden

__all__ = ["IdentityOverride", "build_mutation", "explanation", "possible_matches_field"]

MAX_REASON = 500


@strawberry.type(description="A manual identity decision about two records, stored by the gateway.")
class IdentityOverride:
    entity: str
    a: strawberry.ID
    b: strawberry.ID
    kind: str = strawberry.field(description="link (one thing), never (never the same) or forget (undone).")
    reason: str
    principal: str = strawberry.field(description="Who decided.")
    createdAt: datetime


def explanation(score: Score, other: Any) -> MatchExplanation:
    """A scored pair as data: per comparison the level and its weight (they sum to the match weight)."""
    return MatchExplanation(
        rule=score.rule, other=str(other.ref), matchProbability=score.value, matchWeight=score.weight,
        prior=score.prior if score.weight is not None else None,
        comparisons=[ComparisonWeight(comparison=c.member, level=c.level, weight=c.weight, similarity=c.similarity,
                                      termFrequencyAdjustment=c.term_adjustment) for c in score.comparisons])


def possible_matches_field(entity: str, target: type) -> tuple[Callable[..., Any], Any, str]:
    """(resolver, GraphQL type, description) of `possibleMatches` for an entity with fuzzy rules."""
    member = entity[0].lower() + entity[1:]
    match_type = strawberry.type(type(f"{entity}PossibleMatch", (), {
        "__annotations__": {member: target, "score": float, "reasons": list[str],
                            "explanation": MatchExplanation | None}}),
        description=f"Another {entity} a fuzzy rule scored as maybe the same: the score and why "
                    "(`explanation`: the best-scored pair's comparisons as data).")

    async def resolve(root: Unified, info: strawberry.Info) -> list[Any]:
        found = await engine_request(info).possible_matches(root)
        return [match_type(**{member: m.unit, "score": m.score, "reasons": list(m.reasons),
                              "explanation": None if m.pair is None else explanation(m.pair[1], m.pair[0])})
                for m in found]

    return resolve, list[match_type], (  # type: ignore[valid-type]
        f"Other {entity} entities that may be the same (scored between the rule's suggest and link "
        "thresholds, or above link where the rule does not auto-link), best first. Never merged.")


def build_mutation(model: ModelDecl) -> type:
    """The Mutation type: linkRecords, unlinkRecords, forgetRecordLink."""

    def mutation(kind: Kind, field: str) -> Callable[..., Any]:
        async def resolve(info: strawberry.Info, a: strawberry.ID, b: strawberry.ID, reason: str,
                          entity: str = "Customer") -> IdentityOverride:
            return await _decide(info, model, field, kind, entity, str(a), str(b), reason)

        return resolve

    fields = {
        "linkRecords": strawberry.mutation(resolver=mutation("link", "linkRecords"), description=(
            "Record that `a` and `b` (source:localId) are the same thing; they join whatever the keys say. "
            "Shown as the link reason `override by <principal>: <reason>`.")),
        "unlinkRecords": strawberry.mutation(resolver=mutation("never", "unlinkRecords"), description=(
            "Record that `a` and `b` are never the same thing; this beats every key and rule.")),
        "forgetRecordLink": strawberry.mutation(resolver=mutation("forget", "forgetRecordLink"), description=(
            "Undo the decision about `a` and `b`: keys and rules decide again.")),
    }
    return strawberry.type(type("Mutation", (), fields))


async def _decide(info: Any, model: ModelDecl, field: str, kind: Kind, entity: str, a: str, b: str,
                  reason: str) -> IdentityOverride:
    principal = _authorized(info, field)
    request = engine_request(info)
    if entity not in model.entities:
        raise QueryError(f"entity: no entity '{entity}' (valid: {', '.join(sorted(model.entities))})", "entity")
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise QueryError(f"reason: say why, in 1 to {MAX_REASON} characters", "reason")
    first, second = await _existing(request, entity, a, "a"), await _existing(request, entity, b, "b")
    if first == second:
        raise QueryError("b: a record is always itself; give two different records", "b")
    row = await request.gateway.overrides.add(entity, str(first), str(second), kind, reason, principal.name)
    return _graphql(row)


def _authorized(info: Any, field: str) -> Principal:
    principal = info.context.get(PRINCIPAL)
    security = engine_request(info).gateway.config.security
    role = security.roles.get(principal.role) if security and isinstance(principal, Principal) else None
    if role is None or not any(p in ("Mutation.*", f"Mutation.{field}") for p in role.allow):
        raise Forbidden("Mutation", field)
    assert isinstance(principal, Principal)
    return principal


async def _existing(request: Request, entity: str, text: str, argument: str) -> SourceRef:
    """The record's ref when its source holds it; a clear error (and nothing stored) otherwise."""
    ref = parse_source_ref(text)
    if ref is None:
        raise QueryError(f"{argument}: '{text}' is not a record id; write source:localId, e.g. crm:C-1001", argument)
    if ref.source not in request.gateway.connectors:
        raise NotFound(f"{argument}: no source '{ref.source}' (sources: {', '.join(request.gateway.connectors)}); "
                       "nothing stored", argument)
    if "id" not in getattr(request.gateway.entity_caps(ref.source, entity), "lookups", ()):
        raise NotFound(f"{argument}: {ref.source} holds no {entity} records by id; nothing stored", argument)
    found = await request.lookup(entity, "id", [ref.local_id], [ref.source])
    if not found:
        failed = [e for e in request.failures() if getattr(e, "source", None) == ref.source]
        if failed:
            raise SourceError(ref.source, f"cannot check that {text} exists ({failed[0].code}); nothing stored")
        raise NotFound(f"{argument}: no {entity} '{text}'; nothing stored", argument)
    return found[0].ref


def _graphql(row: Override) -> IdentityOverride:
    return IdentityOverride(entity=row.entity, a=strawberry.ID(row.a), b=strawberry.ID(row.b), kind=row.kind,
                            reason=row.reason, principal=row.principal, createdAt=row.created_at)
