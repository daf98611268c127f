"""Match-key normalizers: pure functions from a messy source value to a comparable key.

A normalizer returns None when the value cannot be a key (an empty string, a malformed email);
`strict` callers (query arguments) get a ValueError that says why instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import phonenumbers

__all__ = [
    "NORMALIZERS",
    "Normalizer",
    "digit_variants",
    "normalize",
    "normalize_code",
    "normalize_email",
    "normalize_phone",
    "normalize_sound_year",
    "normalize_soundex",
    "normalize_text",
    "normalize_year",
]

Normalizer = Callable[[str, str], str | None]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_SPACES = re.compile(r"\s+")


def normalize_email(value: str, region: str = "") -> str | None:
    """Lower-case and remove every space (`' Ann.Lee @Example.COM'` → `ann.lee@example.com`)."""
    text = _SPACES.sub("", value).lower()
    return text if _EMAIL.match(text) else None


def normalize_phone(value: str, region: str = "GB") -> str | None:
    """E.164 (`020-7946-0958` in GB → `+442079460958`); None when it is not a possible number."""
    text = value.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def digit_variants(e164: str, region: str = "GB") -> tuple[str, ...]:
    """Digit strings a legacy column may hold for one number: international and national."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    variants = {e164.lstrip("+"), re.sub(r"\D", "", national), str(number.national_number)}
    return tuple(sorted(variants))


def normalize_code(value: str, region: str = "") -> str | None:
    """Upper-case letters and digits only (`bf 2025-0042` → `BF20250042`)."""
    text = _NOT_ALNUM.sub("", value).upper()
    return text or None


def normalize_text(value: str, region: str = "") -> str | None:
    """Case- and accent-insensitive text with single spaces (`'  Zoë  Smith'` → `zoe smith`)."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = _SPACES.sub(" ", plain).strip().casefold()
    return text or None


_SOUNDEX = {**dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"), **dict.fromkeys("DT", "3"),
            "L": "4", **dict.fromkeys("MN", "5"), "R": "6"}
_SOUNDEX_CODE = re.compile(r"^[A-Z]\d{3}$")
_DIGITS = re.compile(r"[\d/.-]+")
_RUNS = re.compile(r"\d+")


def normalize_soundex(value: str, region: str = "") -> str | None:
    """American Soundex of a name's letters (`Smith-Jones` → `S532`): a blocking key that typos keep.

    Accents are dropped first (`Müller` → `M460`); H and W do not separate equal codes, vowels do.
    A value that already is a code is returned as it is, so normalizing twice changes nothing.
    """
    text = (normalize_text(value) or "").upper()
    if _SOUNDEX_CODE.match(text):
        return text
    letters = [c for c in text if "A" <= c <= "Z"]
    if not letters:
        return None
    out, last = letters[0], _SOUNDEX.get(letters[0], "")
    for c in letters[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            out += code
        if c not in "HW":
            last = code
    return (out + "000")[:4]


def normalize_year(value: str, region: str = "") -> str | None:
    """The year of a date (`1985-06-04`, `19850604`, `04/06/1985` → `1985`); None without one."""
    return _year(value)


def _year(text: str) -> str | None:
    for found in _RUNS.finditer(text):
        run = found.group(0)
        if run[0] in "12" and len(run) in (4, 8):  # YYYY alone or YYYYMMDD
            return run[:4]
    return None


_SOUND_YEAR = re.compile(r"^[A-Z]\d{3} \d{4}$")


def normalize_sound_year(value: str, region: str = "") -> str | None:
    """Soundex of a name and the year of a date, from one value holding both, mapped from two
    columns joined (`[surname, date_of_birth]`): `kowalsky 19700321` → `K420 1970`. One key, so a
    phonetic block is a single batched lookup; None unless both parts are there."""
    text = value.strip()
    if _SOUND_YEAR.match(text):
        return text
    year = _year(text)
    sound = normalize_soundex(_DIGITS.sub(" ", text)) if year else None
    return f"{sound} {year}" if sound and year else None


def normalize_exact(value: str, region: str = "") -> str | None:
    """Trimmed, otherwise unchanged."""
    text = value.strip()
    return text or None


NORMALIZERS: dict[str, Normalizer] = {
    "email": normalize_email,
    "phone": normalize_phone,
    "code": normalize_code,
    "text": normalize_text,
    "exact": normalize_exact,
    "soundex": normalize_soundex,
    "year": normalize_year,
    "soundYear": normalize_sound_year,
}


def normalize(kind: str, value: object, region: str = "GB") -> str | None:
    """Normalize `value` with the named normalizer; None for empty or impossible values."""
    if value is None:
        return None
    return NORMALIZERS[kind](str(value), region)
