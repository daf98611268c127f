"""ISO 4217 currency codes (pycountry's copy of the standard) and their minor units (the iso4217
package's copy), rather than hand-kept lists."""

from __future__ import annotations

import difflib
import functools

import iso4217
import pycountry

from federation.messages import cut

__all__ = ["currency_code", "currency_problem", "minor_digits"]


@functools.cache
def _names() -> dict[str, str]:
    """Code → name of every current ISO 4217 currency (GBP → Pound Sterling)."""
    return {c.alpha_3: c.name for c in pycountry.currencies}


def currency_problem(value: object) -> str | None:
    """None when `value` is an ISO 4217 code (any case), else what is wrong and the close matches."""
    if not isinstance(value, str):
        return f"a currency is an ISO 4217 code such as GBP, USD or EUR, not {type(value).__name__} {cut(repr(value))}"
    if value.strip().upper() in _names():
        return None
    return f"'{cut(value)}' is not an ISO 4217 currency code (close matches: {_close(value.strip())})"


def minor_digits(code: str) -> int | None:
    """Digits of the currency's minor unit (GBP 2, JPY 0, BHD 3); None when it has none (XAU)."""
    try:
        digits = iso4217.Currency(code.strip().upper()).exponent
    except ValueError:
        return None
    return digits if isinstance(digits, int) else None


def currency_code(value: object) -> str:
    """The upper-case ISO 4217 code `value` spells; ValueError (with close matches) otherwise."""
    problem = currency_problem(value)
    if problem is not None:
        raise ValueError(problem)
    assert isinstance(value, str)
    return value.strip().upper()


def _close(text: str) -> str:
    """Codes spelled like `text`, or whose name holds it as a word (`dollars` → USD, …); up to five."""
    names = _names()
    word = text.casefold().rstrip("s")
    by_word = sorted((c for c, n in names.items() if word and word in n.casefold().replace("(", " ").split()),
                     key=lambda c: len(names[c]))
    by_code = difflib.get_close_matches(text.upper(), list(names), n=3, cutoff=0.6) if len(text) <= 4 else []
    found = [*by_code, *by_word] if len(text) == 3 else [*by_word, *by_code]
    shown = list(dict.fromkeys(found))[:5]
    return ", ".join(f"{c} ({names[c]})" for c in shown) or "none"
