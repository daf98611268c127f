"""Aggregates a source computes itself, where the engine has proved it would never merge its records.

The engine unifies the records of one entity in `Resolver.unify` (resolve.py): union-find over shared values of
the entity's *linking* keys (`keys: {k: {links: true}}`, shared-risk ones included), must-link
overrides, and fuzzy identity rules with `autoLink`; hop expansion asks sources only by linking
keys and by the ids overrides name. A record that carries no linking key, is named by no must-link
override and is not scored by any fuzzy rule is therefore always a cluster of its own: the engine
counts it exactly once, under its own field values, and never folds it into another source's
record (nor another into it). So a source's matching records may be counted and totalled by the
source itself (`Connector.aggregate`) exactly when, for the entity:

1. the source declares which match keys its records carry (`EntityCapabilities.keys` not None)
   and none of them is a linking key — keys a source does not map never appear on its records,
   and a linking key it does map could tie two of its records, or one to another source's, so
   the rule does not depend on what other sources map;
2. the entity has no fuzzy identity rules;
3. no must-link override names a record of that source (read from the request's snapshot);
4. the source declares the grouping and the Money field in `aggregates` / `sums`.

Never-link overrides only split clusters, and a lone record has nothing to split. Groupings that
need identity (the purchase's customer) are never pushed: the caller decides which groupings it
asks for; a `ref:` group's relation is resolved by the engine from the ref values (see stats).
"""

from __future__ import annotations

from collections.abc import Sequence

from federation.contract import AggregateRequest, AggregateRow
from federation.engine.fetch import Fetcher
from federation.engine.gateway import Gateway
from federation.identity.overrides import Overrides

__all__ = ["aggregate", "pushable"]


def pushable(gateway: Gateway, overrides: Overrides, entity: str, source: str, group: str, total: str) -> bool:
    """True when `source` may count and total `entity` itself: the rule in the module docstring."""
    decl = gateway.model.entities[entity]
    caps = gateway.entity_caps(source, entity)
    if caps is None or not caps.searchable or group not in caps.aggregates or total not in caps.sums:
        return False
    if caps.keys is None or caps.keys & set(decl.linking_keys):
        return False
    if decl.identity is not None and decl.identity.rules:
        return False
    if not overrides.about(entity):
        return True
    prefix = f"{source}:"
    return not any(o.kind == "link" for (e, ref), rows in overrides.by_record.items()
                   if e == entity and ref.startswith(prefix) for o in rows)


async def aggregate(fetcher: Fetcher, source: str, entity: str,
                    wanted: AggregateRequest) -> Sequence[AggregateRow] | None:
    """One guarded `aggregate` call, counted in the source's stats; None: search the source instead.

    A failure is logged, not recorded: the search that replaces it records its own outcome (and a
    source found down is not waited on again).
    """
    connector = fetcher.gateway.connectors[source]
    rows, error = await fetcher.guarded(source, f"{source}.aggregate({entity})",
                                        lambda: connector.aggregate(entity, wanted),
                                        ("aggregate", entity, repr(wanted)))
    return None if error is not None else rows
