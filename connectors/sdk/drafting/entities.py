"""Which table holds which entity: by its name's words first, its columns second."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.sdk.currency import currency_code
from connectors.sdk.drafting.fields import FieldGuesser
from connectors.sdk.drafting.guesses import EntityDraft, Sure
from connectors.sdk.drafting.profile import TableProfile, words
from federation.model.declaration import ModelDecl
from federation.regions import region_or_error

__all__ = ["ENTITY_WORDS", "draft_entities", "entity_score"]

# Words legacy systems name these tables with (singular; see profile.words).
ENTITY_WORDS: dict[str, frozenset[str]] = {
    "Customer": frozenset({"customer", "client", "contact", "member", "person", "people", "patron", "shopper",
                           "buyer", "consumer", "subscriber", "guest"}),
    "Purchase": frozenset({"order", "purchase", "sale", "invoice", "transaction", "txn", "booking", "checkout"}),
    "Payment": frozenset({"payment", "charge", "refund", "receipt", "settlement", "remittance"}),
    "Interaction": frozenset({"interaction", "message", "activity", "call", "chat", "communication", "touchpoint"}),
    "Case": frozenset({"case", "ticket", "conversation", "issue", "complaint", "incident", "enquiry", "inquiry"}),
}
_LINE_WORDS = frozenset({"line", "item", "detail", "position", "entry", "product"})


def entity_score(entity: str, table: TableProfile) -> tuple[float, str]:
    """How strongly a table's name says it holds `entity` (0..1), and the words that said so."""
    named, labelled = words(table.name), words(table.label)  # a table or endpoint; an OpenAPI schema name
    found = named + labelled
    if not found:
        return 0.0, ""
    if entity == "LineItem":
        parent = [w for w in found if w in ENTITY_WORDS["Purchase"]]
        line = [w for w in found if w in _LINE_WORDS]
        if parent and line and found.index(line[-1]) > found.index(parent[0]):
            return 1.0, f"{parent[0]} + {line[-1]}"
        return 0.0, ""
    synonyms = ENTITY_WORDS.get(entity, frozenset(words(entity)))
    if any(w in _LINE_WORDS for w in found[1:]) and entity == "Purchase":
        return 0.0, ""  # order_details is the lines, not the orders
    for last in (named[-1:] + labelled[-1:]):  # the head noun: `order` in sales_order, not in order_status
        if last in synonyms:
            return 1.0, last
    hits = [w for w in found if w in synonyms]
    return (0.5, hits[0]) if hits else (0.0, "")


def draft_entities(tables: Sequence[TableProfile], model: ModelDecl, region: str | None = None,
                   currency: str | None = None) -> tuple[list[EntityDraft], list[str]]:
    """One draft per entity found (the best table for it), and a note per table left out.

    ValueError when `region` names no country or `currency` is no ISO 4217 code.
    """
    region = region_or_error(region) if region is not None else None
    currency = currency_code(currency) if currency is not None else None
    wanted: list[str] = [e for e in ("Customer", "Purchase", "LineItem", "Payment", "Interaction", "Case")
              if e in model.entities]
    scored: list[tuple[float, str, TableProfile, str]] = []
    for table in tables:
        for entity in wanted:
            score, said = entity_score(entity, table)
            if score >= 0.5:
                scored.append((score + _column_bonus(entity, table, model), entity, table, said))
    scored.sort(key=lambda s: -s[0])
    chosen: dict[str, tuple[float, TableProfile, str]] = {}
    taken: set[str] = set()
    others: dict[str, list[str]] = {}
    for score, entity, table, said in scored:
        if entity in chosen or table.name in taken:
            if entity in chosen and table.name not in taken:
                others.setdefault(entity, []).append(table.name)
            continue
        chosen[entity] = (score, table, said)
        taken.add(table.name)
    tables_of = {e: t for e, (_, t, _) in chosen.items()}
    guesser = FieldGuesser(model, tables_of, region, currency, {t.name: t for t in tables})
    drafts = []
    for entity in (e for e in wanted if e in chosen):
        score, table, said = chosen[entity]
        sure: Sure = "high" if score >= 1.1 else "medium" if score >= 0.9 else "low"
        why = f"its name says '{said}'" + (", and its columns fit" if score >= 1.1 else "")
        draft = guesser.draft(entity, table, why, sure)
        draft.others = others.get(entity, [])
        drafts.append(draft)
    _total_hint(drafts)
    named = {t for names in others.values() for t in names}
    skipped = [f"{t.name}: not drafted (its name matches no customer, purchase, line item, payment, "
               "interaction or case)" for t in tables if t.name not in taken and t.name not in named]
    return drafts, skipped


def _total_hint(drafts: Sequence[EntityDraft]) -> None:
    """A purchase without a total column whose lines have prices: say how its total is summed."""
    by = {d.entity: d for d in drafts}
    purchase, lines = by.get("Purchase"), by.get("LineItem")
    if purchase is None or lines is None or "total" in purchase.fields or "purchase" not in lines.refs:
        return
    price, quantity = lines.fields.get("unitPrice"), lines.fields.get("quantity")
    if price is None or quantity is None:
        return
    purchase.hints.append(
        f"total: no column holds it; the sum of {lines.table.name}.{price.origins()[0]} * {quantity.origins()[0]} "
        f"per {lines.refs['purchase'].origins()[0]} is the usual one: a `select:` with that sum maps it "
        "(docs/connectors/sql.md)")


def _column_bonus(entity: str, table: TableProfile, model: ModelDecl) -> float:
    """Up to 0.3 for columns named like the entity's fields (emails on a customer table)."""
    names = {w for c in table.columns for w in words(c.name)}
    fields = [f for f in model.entities[entity].fields if set(words(f)) & names]
    return min(0.3, 0.1 * len(fields))
