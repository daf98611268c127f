"""What every value read at the edge must become: a value of the declared type, or a labelled
field error showing the raw value. Shared by the transform, REST and SQL property tests."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import strategies as st

from connectors.sdk import Money
from connectors.sdk.currency import currency_problem
from federation.model import builtin_model
from federation.model.declaration import ModelDecl
from federation.model.loader import merge_models
from federation.records import Record

__all__ = ["ENUMS", "JSON_VALUES", "MODEL", "TEXTS", "TYPES", "check_field", "is_junk", "json_values"]

ENUMS = {"Tone": ("RED", "GREEN", "UNKNOWN"), "Side": ("LEFT", "RIGHT")}
# One field per type a model can declare, on an entity only these tests use.
TYPES = {"s": "String", "ss": "[String]", "i": "Int", "f": "Float", "b": "Boolean", "d": "Date",
         "dt": "DateTime", "m": "Money", "dec": "Decimal", "tone": "Tone", "side": "Side", "tones": "[Tone]"}
MODEL: ModelDecl = merge_models(builtin_model(), {
    "enums": {k: list(v) for k, v in ENUMS.items()},
    "entities": {"Probe": {"fields": {name: {"type": t} for name, t in TYPES.items()}}}})

TEXTS = ["", " ", "  x  ", "20240105", "2024-01-05", "2024-01-05T10:30:00Z", "05/01/2024", "20240105 0930",
          "12.50", "-0", "1e308", "NaN", "Infinity", "GBP", "usd", "US$", "red", "Green ", "LEFT", "1", "0",
          "true", "no", "a,b,,c", "N/A", "١٢٣", "1_000", "0x1F", "+44 20 7946 0958", "ünïcødé", "\x00", "💷"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TEXTS), st.text(max_size=12),
    st.binary(max_size=6), st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.dates(), st.datetimes())


def json_values(scalars: st.SearchStrategy[Any] = _SCALARS) -> st.SearchStrategy[Any]:
    """Scalars, and arrays and objects nested a little."""
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=6)


JSON_VALUES = json_values()


def is_junk(value: Any, type_name: str) -> bool:
    """A value no field of `type_name` may be read from without saying so (it has no such reading)."""
    if isinstance(value, bool):
        return type_name != "Boolean"
    if isinstance(value, float) and (not math.isfinite(value) or type_name in ("String", "ID", *ENUMS)):
        return True  # a binary float is no text (1e308 would read "1e+308")
    if isinstance(value, Decimal) and not value.is_finite():
        return True
    if isinstance(value, dict | bytes):
        return True
    if isinstance(value, list | tuple):
        return any(is_junk(v, type_name) for v in value)
    return False


def _typed(type_name: str, value: Any) -> bool:
    if type_name.startswith("["):
        return isinstance(value, list) and all(_typed(type_name[1:-1], v) for v in value)
    if type_name in ENUMS:
        return value in ENUMS[type_name]
    checks: dict[str, Any] = {
        "String": lambda v: isinstance(v, str) and v != "",
        "Int": lambda v: type(v) is int and -(2**31) <= v < 2**31,
        "Float": lambda v: type(v) is float and math.isfinite(v),
        "Boolean": lambda v: type(v) is bool,
        "Date": lambda v: type(v) is date,
        "DateTime": lambda v: isinstance(v, datetime) and v.tzinfo is not None,
        "Money": lambda v: isinstance(v, Money) and v.amount.is_finite() and currency_problem(v.currency) is None,
        "Decimal": lambda v: isinstance(v, Decimal) and v.is_finite(),
    }
    return bool(checks[type_name](value))


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


def _renderings(raw: Any) -> list[str]:
    parts = list(raw) if isinstance(raw, list | tuple) else [raw]
    out = []
    for part in [raw, *parts]:
        for text in (str(part), repr(part), _json(part)):
            out += [t for t in (text[:30].casefold(), text.strip()[:30].casefold()) if t]
    return out


def check_field(record: Record, name: str, raw: Any) -> None:
    """`record.fields[name]` is typed, or None/[] with an error that shows `raw`; never junk made good."""
    type_name = TYPES[name]
    value = record.fields.get(name)
    if name in record.errors:
        message = record.errors[name].casefold()
        assert value is None, (raw, value)
        assert any(r in message for r in _renderings(raw)), (raw, record.errors[name])
        assert f"field {name}" in message and record.source in message, record.errors[name]
        return
    if value is None or value == []:
        return
    assert _typed(type_name, value), (type_name, raw, value)
    assert not is_junk(raw, type_name.strip("[]")), f"{type_name} silently read {raw!r} as {value!r}"
    members = ENUMS.get(type_name.strip("[]"))
    if members and "UNKNOWN" in (value if isinstance(value, list) else [value]) and not isinstance(value, list):
        assert record.raw.get(name), f"{raw!r} became UNKNOWN without its raw value kept"
