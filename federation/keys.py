"""Match-key normalizers: pure functions from a messy source value to a comparable key.

A normalizer returns None when the value cannot be a key (an empty string, a malformed email).

Phones are read in a region (ISO 3166 alpha-2, `federation.regions`). A number phonenumbers can
read becomes its E.164 form (`+442079460958`); one it cannot read under that region (a foreign
number stored without its country code, `28303384290` in GB) keeps a *digits key*: its national
significant number where the parse found one, else all its digits (`28303384290`). The two never
collide: an E.164 key starts with `+`, a digits key never does. A lookup by a readable number
matches both its E.164 key and the digit forms an unreadable copy of it may hold
(`phone_match_keys`); see docs/identity.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import phonenumbers

__all__ = [
    "MIN_DIGITS",
    "NORMALIZERS",
    "Normalizer",
    "digit_forms",
    "key_match_keys",
    "normalize",
    "normalize_code",
    "normalize_email",
    "normalize_phone",
    "normalize_sound_year",
    "normalize_soundex",
    "normalize_text",
    "normalize_year",
    "phone_key",
    "phone_match_keys",
    "read_phone",
    "readable",
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
    key, readable = read_phone(value, region)
    return key if readable else None


# A digits key needs this many digits: fewer ("000", "12") identify nobody, and every stored
# spelling of a longer key ends in the same six digits, which SQL sources compare (query.py).
MIN_DIGITS = 6
_E164 = phonenumbers.PhoneNumberFormat.E164


@lru_cache(maxsize=16_384)
def read_phone(value: str, region: str = "GB") -> tuple[str | None, bool]:
    """(key, readable): the E.164 form and True, or a digits key (None when too short) and False.

    Cached per (text, region): a row maps the same column into `phones` and the `phone` key, and
    a request meets the same number in many records; each distinct text is parsed once.
    """
    text = value.strip()
    if not text:
        return None, False
    if text.startswith("00"):
        text = "+" + text[2:]
    number: phonenumbers.PhoneNumber | None
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, _E164), True
    digits = phonenumbers.national_significant_number(number) if number is not None else _digits(text)
    return (digits if _digit_key(digits) else None), False


def _digits(text: str) -> str:
    """Every decimal digit of `text`, in ASCII (phonenumbers reads other scripts' digits too)."""
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdecimal())


def _digit_key(digits: str) -> bool:
    """Enough digits to mean someone: six or more, and not one digit repeated (`0000000`)."""
    return len(digits) >= MIN_DIGITS and digits.isdigit() and digits.isascii() and len(set(digits)) > 1


def phone_key(value: str, region: str = "GB") -> str | None:
    """The match key of a phone: E.164 when readable, else its digits key; None for neither."""
    return read_phone(value, region)[0]


def readable(kind: str, key: str) -> bool:
    """False for a phone's digits key (a number no region could read), True for every other key."""
    return kind != "phone" or key.startswith("+")


def phone_match_keys(value: str, region: str = "GB") -> tuple[str, ...]:
    """The keys a lookup by `value` matches: a readable number's E.164 and the digits keys an
    unreadable copy of it may hold (national significant number, with the country code, in
    national format); an unreadable one only its own digits key; nothing at all: ()."""
    key, is_readable = read_phone(value, region)
    if key is None:
        return ()
    if not is_readable:
        return (key,)
    return (key, *(d for d in digit_forms(key) if _digit_key(d)))


def key_match_keys(kind: str, key: str) -> tuple[str, ...]:
    """The keys a lookup by an already-normalized key matches: for a readable phone its E.164 and
    the digits keys an unreadable copy may hold (as `phone_match_keys`), else the key itself."""
    if kind != "phone" or not key.startswith("+"):
        return (key,)
    try:
        return (key, *(d for d in digit_forms(key) if _digit_key(d)))
    except phonenumbers.NumberParseException:
        return (key,)


@lru_cache(maxsize=4096)
def digit_forms(e164: str) -> tuple[str, ...]:
    """Digit strings one number is written as without `+`: its national significant number, the
    country code with it, the same with the national prefix (`4402079460958` for "+44 (0)20…"),
    and its national format (`02079460958`)."""
    number = phonenumbers.parse(e164, None)
    nsn = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    forms = [nsn, code + nsn, national]
    if national != nsn and national.endswith(nsn):
        forms.append(code + national)
    return tuple(dict.fromkeys(forms))


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
    "phone": phone_key,
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
