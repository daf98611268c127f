"""Match-key normalizers: pure functions from a messy source value to a comparable key.

A normalizer returns None when the value cannot be a key (an empty string, a malformed email).

Phones are read in a region (ISO 3166 alpha-2, `federation.regions`). A number phonenumbers can
read becomes its E.164 form (`+442079460958`); one it cannot read under that region (a foreign
number stored without its country code, `28303384290` in GB) keeps a *digits key*: its national
significant number where the parse found one, else all its digits (`28303384290`). The two never
collide: an E.164 key starts with `+`, a digits key never does. A lookup by a readable number
matches both its E.164 key and the digit forms an unreadable copy of it may hold
(`phone_match_keys`).

A lookup written without a country code (`030-0074321`, what a legacy screen shows) is also a
*digits lookup*: the caller named no country, so every country where those digits are a number
is an honest candidate (`national_readings`). A lookup written with one (`+49 30 0074321`,
`0049…`) is an *E.164 lookup* and never matches another country's number. Record keys never
change for either: records link by equal keys only. See docs/identity.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

__all__ = [
    "MIN_DIGITS",
    "NORMALIZERS",
    "Normalizer",
    "digit_forms",
    "international",
    "key_match_keys",
    "national_digits",
    "national_readings",
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
    """The keys a lookup by `value` matches.

    - Its reading in `region`: a readable number's E.164 and the digits keys an unreadable copy
      of it may hold (`digit_forms`); an unreadable one its own digits key.
    - Unless it is written with a country code (`international`), also as a digits lookup: its
      digits as a digits key, and the E.164 number they are in every country (`national_readings`).
    Nothing at all (`()`) for a value with too few digits to mean anyone.
    """
    key, is_readable = read_phone(value, region)
    keys: list[str] = []
    if key is not None:
        keys.append(key)
        if is_readable:
            keys += (d for d in digit_forms(key) if _digit_key(d))
    if not international(value):
        digits = _digits(value)
        if _digit_key(digits):
            keys += (d for d in national_digits(digits) if _digit_key(d))
            keys += national_readings(digits)
    return tuple(dict.fromkeys(keys))


_OPENING = re.compile(r"^[\s(\[]*")


def international(value: str) -> bool:
    """True when `value` is written with a country code: `+49 …`, `(+49) …`, `0049 …`."""
    text = _OPENING.sub("", value)
    return text.startswith(("+", "00", "\uff0b"))


@dataclass(frozen=True, slots=True)
class _Trunk:
    """How one region writes its trunk prefix: phonenumbers' `national_prefix_for_parsing`
    (`0|80?` in Belarus) and the rule that rebuilds the number after it (`0549\\1` in San Marino)."""

    pattern: re.Pattern[str]
    transform: str | None

    def strip(self, digits: str) -> str | None:
        """`digits` after this trunk prefix, as the region's parse reads them; None without one."""
        found = self.pattern.match(digits)
        if found is None or found.end() == 0:
            return None
        rest = digits[found.end():]
        if self.transform and found.lastindex is not None:
            return found.expand(self.transform) + rest
        return rest


def _plan(cc: int) -> tuple[tuple[_Trunk, ...], frozenset[int], bool]:
    """(trunk prefixes, possible lengths of a national significant number, whether one may start
    with 0) of a country code, over every region sharing it (+1: the US, Canada, the Caribbean)."""
    trunks: dict[tuple[str, str | None], _Trunk] = {}
    lengths: set[int] = set()
    zero = True
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        for pattern in (meta.national_prefix_for_parsing, meta.national_prefix):
            if pattern:
                trunks.setdefault((pattern, meta.national_prefix_transform_rule), _Trunk(
                    re.compile(pattern), meta.national_prefix_transform_rule))
        # Where 0 is the trunk prefix a national number never starts with one (`+49 030…` is
        # no German number); elsewhere it may (Italy's `+39 011…`).
        zero = zero and not (meta.national_prefix or "").startswith("0")
        desc = meta.general_desc
        if desc is not None:
            lengths.update(desc.possible_length or ())
            lengths.update(desc.possible_length_local_only or ())
    return tuple(trunks.values()), frozenset(lengths), zero


# Every geographic country code (non-geographic ones, +800 and the like, have no national
# spelling) with its trunk prefixes and possible lengths: read once, from phonenumbers' metadata.
_COUNTRIES: dict[str, tuple[tuple[_Trunk, ...], frozenset[int], bool]] = {
    str(cc): _plan(cc) for cc, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if regions and regions[0] != phonenumbers.UNKNOWN_REGION and regions[0] != "001"}
# Every region's trunk prefix: an unreadable stored number's digits key is its national
# significant number where its region's parse found one, trunk prefix gone.
_TRUNKS = tuple({(t.pattern.pattern, t.transform): t for trunks, _, _ in _COUNTRIES.values() for t in trunks}.values())


def _after(digits: str, trunks: Iterable[_Trunk]) -> list[str]:
    return [rest for t in trunks if (rest := t.strip(digits))]


@lru_cache(maxsize=4096)
def national_digits(digits: str) -> tuple[str, ...]:
    """The digits keys a digits lookup matches: all its digits, and the digits after a leading
    trunk prefix of any region (`07123672220` also as `7123672220`, Belgium's key for it)."""
    return tuple(dict.fromkeys([digits, *_after(digits, _TRUNKS)]))


@lru_cache(maxsize=4096)
def national_readings(digits: str) -> tuple[str, ...]:
    """Every E.164 number `digits` spells without a `+`: for each country code C, `+C` followed
    by the digits, by the digits after one of C's trunk prefixes (`030…` in Germany is
    `+49 30…`, `8 0152…` in Belarus `+375 152…`), after a leading C, or after a leading C and a
    trunk prefix (`49 (0)30…`), wherever that national number has a length C's numbers can have.

    The rule is this text arithmetic on phonenumbers' metadata, not a parse per region: a stored
    E.164 key is `+C` and its national significant number, so every stored number whose national
    spelling (with or without its trunk prefix or country code) is `digits` has its key here, and
    no parse is needed (well under a millisecond, cached). Stored keys are only ever compared with
    these by equality, in memory and in SQL alike (by tails, connectors/sql/query.py): one answer."""
    out: list[str] = []
    for cc, (trunks, lengths, zero) in _COUNTRIES.items():
        bodies = [digits, *_after(digits, trunks)]
        if digits.startswith(cc):
            rest = digits[len(cc):]
            bodies += [rest, *_after(rest, trunks)]
        out += (f"+{cc}{b}" for b in bodies if len(b) in lengths and (zero or not b.startswith("0")))
    return tuple(dict.fromkeys(out))


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
    its national format (`02079460958`) and its trunk prefix with the national number."""
    number = phonenumbers.parse(e164, None)
    nsn = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    forms = [nsn, code + nsn, national]
    if national != nsn and national.endswith(nsn):
        forms.append(code + national)
    # The trunk prefix before the national number even where the national format shows none
    # (an invalid Swiss `0897 034 214` formats as `897034214`).
    # The main region of the country code, not the number's: an invalid number has none.
    region = phonenumbers.region_code_for_country_code(int(code))
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is not None and meta.national_prefix:
        forms.append(meta.national_prefix + nsn)
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
