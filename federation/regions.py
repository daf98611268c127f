"""Country names and codes → the ISO 3166 alpha-2 region a phone number is read in.

Config (`region: France`, `region: fr`) and source rows (a `country` column holding `UK`, `USA`,
`Deutschland`'s ISO code `DE`) name countries many ways. pycountry (ISO 3166, kept by Debian's
iso-codes) reads codes (alpha-2, alpha-3, numeric) and official and common English names, case
insensitively; it never guesses (no fuzzy matching: "Austria" never becomes "Australia"). The
few everyday names ISO does not list are in `ALIASES`, and nothing else is hand-written.
A region must also have a telephone numbering plan (phonenumbers' regions), or it cannot read
a national number at all.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
import pycountry

__all__ = ["ALIASES", "region_code", "region_or_error"]

# Everyday names ISO 3166 does not list (pycountry's lookup knows the rest). Keep it short: only
# names people really write in a country column, each one unambiguous.
ALIASES: dict[str, str] = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB",
    "russia": "RU",
    "turkey": "TR",
    "holland": "NL",
    "ivory coast": "CI",
    "macedonia": "MK",
    "cape verde": "CV",
    "swaziland": "SZ",
    "burma": "MM",
    "east timor": "TL",
    "vatican": "VA",
    "palestine": "PS",
    "kosovo": "XK",  # a user-assigned code, used by phonenumbers (+383)
}

_SPACES = re.compile(r"\s+")
_PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


@lru_cache(maxsize=1024)
def region_code(text: str) -> str | None:
    """The alpha-2 code of a country name or code (`"uk"` → `GB`, `"France"` → `FR`); None when
    it names no country with a telephone numbering plan. Cached: a country column repeats a few
    dozen values over millions of rows."""
    plain = _SPACES.sub(" ", text.replace(".", "")).strip().casefold()
    if not plain:
        return None
    code = ALIASES.get(plain)
    if code is None:
        try:
            code = pycountry.countries.lookup(plain).alpha_2
        except LookupError:
            return None
    return code if code in _PHONE_REGIONS else None


def region_or_error(text: object) -> str:
    """`region_code`, or ValueError naming the value (for config validation)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("write an ISO 3166 country code (FR) or a country name (France), "
                         "or {column: <column>} / {path: <path>} for a per-row country")
    code = region_code(text)
    if code is None:
        raise ValueError(f"'{text[:60]}' is not a country with telephone numbers; write an ISO 3166 "
                         f"alpha-2 code (FR, GB, US) or an English country name (France, United Kingdom)")
    return code
