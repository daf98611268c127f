"""A rule follows its data: values derived from a field get that field's rule wherever they appear.

A conflict shows a field's values, a link reason the key value two records share, a timeline
summary the fields its template names, a `purchaseStats` group the labels and totals of the
purchases in it. For each, this module asks the role's policy about the field the value came
from: denied → the value is left out (a conflict on a denied field is not listed at all), masked →
the same mask as the field itself. Record ids and refs are never masked: they name records, not
people.

The values are the API's result objects (conflicts, timeline entries: dataclasses), read and
copied by attribute: the API imports this layer, never the other way round.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from federation.security.masks import apply_mask, redact_text
from federation.security.oracle import group_labels
from federation.security.policy import Decision, Policy
from federation.timeline import render_summary

__all__ = ["DERIVED_TYPES", "follow_rules", "link_reasons"]

Rule = Callable[[Any], Any]

# `key = value ~ crm:C-9, pos:1` (a shared key) and `rule name-dob 0.93: name 'A' ~ 'B' 0.95, …
# ~ crm:C-9` (a scored match): the part after the last ' ~ ' is refs, never masked.
_SHARED = re.compile(r"^(?P<key>[A-Za-z_]\w*) = (?P<value>.*)$", re.S)
_MEMBER = re.compile(r"(?P<member>[A-Za-z_]\w*) '(?P<left>.*?)'(?: ~ '(?P<right>.*?)')? (?P<score>\d\.\d\d)(?=, |$)")
WITHHELD = "(withheld)"


def _rule(decision: Decision) -> Rule | None:
    """What the role sees of a value derived from a field: None when the field is denied."""
    if decision.action == "deny" or decision.mask == "redact":
        return None
    if decision.action == "mask":
        kind = decision.mask or "redact"
        return lambda value: _mask_text(kind, value)
    return lambda value: value


def _mask_text(kind: str, value: Any) -> Any:
    """A mask on text derived from the field (a date as text keeps its year only)."""
    if kind == "year" and isinstance(value, str):
        return f"{value[:4]}-01-01" if re.match(r"^\d{4}-", value) else None
    return apply_mask(kind, value)


def _field_of(policy: Policy, entity: str, name: str, fields: Mapping[str, Any]) -> Decision:
    """The decision for a key or member `name` of `entity`: its field (`email` → `emails`) or
    itself when no field holds it (deny-by-default types then deny it)."""
    for candidate in (name, f"{name}s"):
        if candidate in fields:
            return policy.decide(entity, candidate)
    return policy.decide(entity, name)


def _conflicts(policy: Policy, entity: str, conflicts: Sequence[Any], _: Mapping[str, Any]) -> list[Any]:
    out = []
    for conflict in conflicts:
        rule = _rule(policy.decide(entity, conflict.field))
        if rule is None:
            continue  # even the fact that sources disagree on a denied field is not the role's to read
        values = [dataclasses.replace(v, value=rule(v.value)) for v in conflict.values]
        out.append(dataclasses.replace(conflict, chosen=rule(conflict.chosen), values=values))
    return out


def _timeline(policy: Policy, _entity: str, entries: Sequence[Any], _arguments: Mapping[str, Any]) -> list[Any]:
    out = []
    for entry in entries:
        origin = entry.origin
        if origin is None:
            out.append(entry)
            continue
        at = origin.fields.get("at")
        if at is not None and _rule(policy.decide(origin.entity, at)) is None:
            continue  # an event dated by a field the role may not read is not shown at all
        parts = {}
        for name, text in origin.parts.items():
            rule = _rule(policy.decide(origin.entity, name))
            parts[name] = "" if rule is None else (rule(text) or "")
        changes: dict[str, Any] = {"summary": render_summary(origin.template, parts) or None}
        for attribute in ("channel", "direction", "waitSeconds"):
            source_field = origin.fields.get(attribute)
            if source_field is not None:
                rule = _rule(policy.decide(origin.entity, source_field))
                value = getattr(entry, attribute)
                changes[attribute] = None if rule is None or value is None else rule(value)
        out.append(dataclasses.replace(entry, **changes))
    return out


def _stats(policy: Policy, entity: str, stats: Any, arguments: Mapping[str, Any]) -> Any:
    """Group labels by the rule of the field they show; totals only for a role reading the amounts
    (and then groups come in key order, as their order by spend would rank the hidden totals)."""
    if stats is None:
        return None
    rules = [[_rule(policy.decide(t or entity, f)) for t, f in group_labels(arguments.get(name))]
             for name in ("groupBy", "thenBy")]
    totals = policy.decide(entity, "total").action == "allow"
    groups = []
    for group in stats.groups:
        labels = [_ruled(label, rules[i]) for i, label in enumerate(group.labels or [group.label])]
        groups.append(dataclasses.replace(group, label=labels[0] if labels else None, labels=labels,
                                          totals=group.totals if totals else []))
    if not totals:
        groups.sort(key=lambda g: g.key)
    return dataclasses.replace(stats, groups=groups)


def _ruled(label: str | None, rules: list[Any]) -> str | None:
    for rule in rules:
        label = None if rule is None or label is None else rule(label)
    return label


def _explanations(policy: Policy, entity: str, found: Any, _: Mapping[str, Any]) -> Any:
    """A fuzzy match's comparisons without those on a field the role may not read unmasked: the
    level reached ("exact", "one digit") and its weight say how two records' values compare. The
    match weight and prior go too when one is left out (the rest would no longer add up to them)."""
    if found is None:
        return None
    if isinstance(found, list):
        return [_explanations(policy, entity, one, _) for one in found]
    kept = [c for c in found.comparisons if all(policy.decide(entity, f).action == "allow"
                                                 for f in (c.comparison, f"{c.comparison}s"))]
    if len(kept) == len(found.comparisons):
        return found
    return dataclasses.replace(found, comparisons=kept, matchWeight=None, prior=None)


def _flags(policy: Policy, _entity: str, flags: Any, _: Mapping[str, Any]) -> Any:
    """Flags whose condition reads only fields the role may read unmasked: a duplicate-delivery
    flag says how many shipments have a status, which a role denied that status may not learn."""
    if flags is None:
        return None
    return [f for f in flags if all(policy.decide(t, n).action == "allow" for t, n in getattr(f, "reads", ()))]


DERIVED_TYPES: dict[str, Callable[[Policy, str, Any, Mapping[str, Any]], Any]] = {
    "Conflict": _conflicts,
    "TimelineEntry": _timeline,
    "PurchaseStats": _stats,
    "MatchExplanation": _explanations,
    "Flag": _flags,
}


def follow_rules(policy: Policy, entity: str, named: str, result: Any, arguments: Mapping[str, Any]) -> Any:
    """`result` (a list of conflicts or timeline entries of `entity`, or purchase stats) as the
    role may read it."""
    return DERIVED_TYPES[named](policy, entity, result, arguments)


def link_reasons(policy: Policy, entity: str, reasons: Sequence[str], fields: Mapping[str, Any],
                 own: Decision) -> list[str]:
    """Each link reason with the values in it ruled by their field, then by the role's rule for
    `SourceRecord.linkedBy` itself (`own`); the refs after ' ~ ' are ids and stay as they are."""
    own_rule = _rule(own) if own.action == "mask" else None
    out = []
    for reason in reasons:
        head, tilde, refs = reason.rpartition(" ~ ")
        if not tilde:
            head, refs = reason, ""
        head = _ruled_head(policy, entity, head, fields)
        if own_rule is not None:
            head = own_rule(head) or WITHHELD
        elif policy.redacts:
            head = redact_text(head, policy.redacts)
        out.append(f"{head} ~ {refs}" if tilde else head)
    return out


def _ruled_head(policy: Policy, entity: str, head: str, fields: Mapping[str, Any]) -> str:
    shared = _SHARED.match(head)
    if shared:
        rule = _rule(_field_of(policy, entity, shared["key"], fields))
        value = None if rule is None else rule(shared["value"])
        return f"{shared['key']} = {WITHHELD if value is None else value}"

    def member(match: re.Match[str]) -> str:
        rule = _rule(_field_of(policy, entity, match["member"], fields))
        left = WITHHELD if rule is None else rule(match["left"])
        if match["right"] is None:
            return f"{match['member']} '{left}' {match['score']}"
        right = WITHHELD if rule is None else rule(match["right"])
        return f"{match['member']} '{left}' ~ '{right}' {match['score']}"

    return _MEMBER.sub(member, head)
