"""Amounts (decimal or minor units) and enum code tables."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from decimal import Decimal

from connectors.sdk.drafting.guesses import Guess, Sure
from connectors.sdk.drafting.profile import ColumnProfile, TableProfile, words
from connectors.sdk.drafting.values import codes

__all__ = ["enum_guess", "money_guess"]

_MINOR_WORDS = frozenset({"cent", "cents", "pence", "penny", "minor", "kobo", "paise"})
_PLAIN = re.compile(r"[^A-Z0-9]")
# Everyday codes whose enum value is no near spelling of them.
_ALIASES = {"CANCELED": "CANCELLED", "DONE": "COMPLETED", "CLOSED": "CLOSED", "NEW": "OPEN", "SENT": "SHIPPED",
            "DISPATCHED": "SHIPPED", "INCOMING": "INBOUND", "IN": "INBOUND", "OUTGOING": "OUTBOUND", "OUT": "OUTBOUND",
            "SOLVED": "RESOLVED", "WAITING": "PENDING", "ONHOLD": "PENDING"}


def money_guess(column: ColumnProfile, table: TableProfile, said: str, currency: str | None) -> Guess | None:
    """`{money: CUR}` on decimals, `{money_minor: CUR}` on whole numbers named or sized like minor units."""
    todo = "" if currency else "which currency are these amounts in? (USD is a placeholder)"
    code = currency or "USD"
    values = table.values(column.name)
    minor_named = bool(set(words(column.name)) & _MINOR_WORDS)
    if column.kind == "int" or (values and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
        why = (f"{said}: whole numbers named as minor units" if minor_named
               else f"{said}: whole numbers, read as minor units (cents, pence)")
        return Guess({"column": column.name, "transform": [{"money_minor": code}]}, why,
                     "high" if minor_named else "medium",
                     todo or ("" if minor_named else f"are {column.name} values cents? (else use {{money: {code}}})"))
    if column.kind in ("decimal", "float") or (values and all(isinstance(v, Decimal | float) for v in values)):
        return Guess({"column": column.name, "transform": [{"money": code}]}, f"{said}, a decimal amount", "high", todo)
    return None


def enum_guess(values_of: Sequence[str], column: ColumnProfile, table: TableProfile, score: float) -> Guess | None:
    """A code table from the declared or sampled distinct codes onto the enum's values."""
    found = list(column.enum) or codes(table.values(column.name)) or []
    if not found:
        return None
    table_map: dict[str, str] = {}
    unmatched: list[str] = []
    for code in found:
        value = _closest(code, values_of)
        if value is None:
            unmatched.append(code)
        else:
            table_map[code] = value
    if not table_map:
        if score < 1.0:
            return None
        proposal = {"column": column.name, "transform": [{"enum": {code: "?" for code in found}}]}
        return Guess(proposal, f"named '{column.name}'; codes {', '.join(map(str, found))} name no "
                     f"{'/'.join(values_of)} value", "low",
                     f"which {'/'.join(values_of)} value is each of {', '.join(map(str, found))}? "
                     "(then uncomment)", commented=True)
    source = "declared" if column.enum else f"found in {len(table.values(column.name))} sampled rows"
    why = f"named '{column.name}'; codes {source}: {', '.join(map(str, found))}"
    todo = (f"which {'/'.join(values_of)} value is each of {', '.join(map(str, unmatched))}? (until mapped they "
            "read as UNKNOWN)") if unmatched else ""
    sure: Sure = "high" if not unmatched and score >= 1.0 else "medium"
    return Guess({"column": column.name, "transform": [{"enum": table_map}]}, why, sure, todo)


def _closest(code: str, values_of: Sequence[str]) -> str | None:
    plain = _PLAIN.sub("", str(code).upper())
    if plain in values_of:
        return plain
    alias = _ALIASES.get(plain)
    if alias in values_of:
        return alias
    close = difflib.get_close_matches(plain, [_PLAIN.sub("", v) for v in values_of], n=1, cutoff=0.75)
    return next((v for v in values_of if _PLAIN.sub("", v) == close[0]), None) if close else None
