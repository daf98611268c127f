"""Named value transforms for mappings: `strip`, `{date: YYYYMMDD}`, `{money_minor: GBP}`, …

A step is a name (`strip`) or a one-key mapping (`{date: DD/MM/YYYY}`). A step raises
ValueError with a message fit for a field error when the value does not fit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from connectors.sdk.currency import currency_code, minor_digits
from federation.messages import cut
from federation.records import Money

__all__ = ["EPOCH_UNITS", "TRANSFORMS", "Coded", "Step", "Steps", "apply_steps", "as_text", "compile_steps",
           "run_steps", "shown", "strptime_format"]

Step = str | Mapping[str, Any]
Transform = Callable[[Any, Any], Any]

# Named formats legacy systems use, in the tokens people write in specs, mapped to strptime.
_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


@dataclass(frozen=True, slots=True)
class Coded:
    """An enum value decoded from a code table, keeping the source's raw text."""

    value: str
    raw: str


def strptime_format(pattern: str) -> str:
    """`DD/MM/YYYY HH:mm` → `%d/%m/%Y %H:%M`; ISO stays ISO."""
    out = pattern
    for token, directive in _TOKENS:
        out = out.replace(token, directive)
    return out


def as_text(value: Any) -> str:
    """Text, or an exact value that reads the same as text (an integer, a decimal, a date).

    A boolean, a binary float, bytes or a JSON object or array is no text: `true` would read
    "True" and `1e308` "1e+308", values the source never held as text, so they are an error
    that shows the value instead.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | date | UUID) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        return str(value)
    raise ValueError(f"got {shown(value)} where text is expected")


def shown(value: Any) -> str:
    """A value as an error message shows it: its kind and its first 100 characters."""
    return f"{type(value).__name__} {cut(repr(value))}"


def _text(value: Any, _: Any) -> Any:
    return value if value is None else as_text(value)


def _strip(value: Any, _: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any, _: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower(value: Any, _: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _null_if(value: Any, arg: Any) -> Any:
    blanks = arg if isinstance(arg, list) else [arg]
    return None if value in blanks or (isinstance(value, str) and value.strip() in blanks) else value


def _default(value: Any, arg: Any) -> Any:
    return arg if value is None or value == "" else value


def _join(value: Any, arg: Any) -> Any:
    if not isinstance(value, list | tuple):
        return value
    parts = [text for v in value if v is not None and (text := as_text(v).strip())]
    return (arg if isinstance(arg, str) else " ").join(parts) or None


def _split(value: Any, arg: Any) -> Any:
    if not isinstance(value, str):
        return value
    return [part.strip() for part in value.split(arg or ",") if part.strip()]


def _parse_datetime(text: str, pattern: str | None) -> datetime:
    if not pattern or pattern.upper() == "ISO":
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime.strptime(text, strptime_format(pattern))


def _date(value: Any, arg: Any) -> Any:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = as_text(value).strip()
    try:
        return _parse_datetime(text, arg).date()
    except ValueError:
        # Blank once trimmed (spaces, a lone NEL): the value as read, so the error shows it.
        raise ValueError(f"'{cut(text or as_text(value))}' is not a date in the format {arg or 'ISO'}") from None


def _datetime(value: Any, arg: Any) -> Any:
    """`{datetime: FORMAT}` or `{datetime: {format: F, tz: Europe/London}}`; naive → that zone."""
    options = arg if isinstance(arg, Mapping) else {"format": arg}
    zone = ZoneInfo(options.get("tz") or "UTC")
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        if isinstance(value, list | tuple):  # date and time from two columns; a NULL or blank part is left out
            text = " ".join(part for v in value if v is not None and (part := as_text(v).strip()))
            if not text:
                return None
        else:
            text = as_text(value).strip()
        try:
            parsed = _parse_datetime(text, options.get("format"))
        except ValueError:
            raise ValueError(f"'{cut(text or as_text(value))}' is not a date-time in the format "
                             f"{options.get('format') or 'ISO'}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


# `epoch` / `{epoch: ms}`: what one unit of the stored number is, in seconds.
EPOCH_UNITS: Mapping[str, int] = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _epoch(value: Any, arg: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"got {shown(value)} where an epoch timestamp is expected")
    try:
        seconds = float(value) / EPOCH_UNITS.get(arg or "s", 1)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"'{cut(str(value))}' is not an epoch timestamp") from None


def _decimal(value: Any) -> Decimal:
    """An amount: a number or numeric text; never a boolean, NaN or infinity."""
    if type(value) is int:  # an INTEGER column: exact either way, without the text in between
        return Decimal(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite():
        raise ValueError(f"'{cut(str(value))}' is not a number")
    return number


def _money(value: Any, arg: Any) -> Any:
    """`{money: GBP}` on an amount, or `money` on [amount, currency] (`{money: GBP}` there: GBP where
    the currency column is blank). A currency the source holds must be an ISO 4217 code."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"money needs [amount, currency] or a currency argument, got {shown(value)}")
        value, column = value
        if column is not None and str(column).strip():
            if value is None or value == "":
                return None
            return Money(_decimal(value), _currency(column))
    if value is None or value == "":
        return None
    amount = _decimal(value)
    if not arg:
        raise ValueError(f"the amount {amount} has no currency: give {{money: GBP}} or a currency column")
    return Money(amount, _code(arg))


def _money_minor(value: Any, arg: Any) -> Any:
    """Integer minor units to Money, by the currency's own minor unit: `{money_minor: GBP}` reads
    pence (1234 → 12.34), `{money_minor: JPY}` yen (1234 → 1234), `{money_minor: BHD}` fils."""
    if value is None or value == "":
        return None
    code = _code(arg)
    digits = _minor_digits(code)
    if digits is None:
        raise ValueError(f"{code} has no minor unit; map it with {{money: {code}}}")
    return Money(_decimal(value).scaleb(-digits), code)


def _currency(value: Any) -> str:
    """A currency code read from the source; the raw value shown when it is not ISO 4217."""
    if isinstance(value, str):
        return _code(value)
    raise ValueError(f"the currency read is {type(value).__name__} {cut(repr(value))}, not an ISO 4217 code")


def _code(value: Any) -> str:
    """`currency_code`, kept per spelling: a mapping's currency (or a currency column's few values)
    is read on every row. A spelling that is no code raises each time (errors are not kept)."""
    return _known_code(value) if isinstance(value, str) else currency_code(value)


@functools.lru_cache(maxsize=1024)
def _known_code(text: str) -> str:
    return currency_code(text)


@functools.lru_cache(maxsize=256)
def _minor_digits(code: str) -> int | None:
    return minor_digits(code)


def _enum(value: Any, arg: Any) -> Any:
    """Code table to enum, keeping the raw value: `{enum: {P: PROCESSING, C: CANCELLED}}`."""
    if value is None:
        return None
    raw = as_text(value)
    table = {str(k).strip().casefold(): v for k, v in dict(arg).items()}
    decoded = table.get(raw.strip().casefold())
    return Coded(str(decoded), raw) if decoded is not None else Coded(raw.strip().upper(), raw)


def _int(value: Any, _: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    try:
        return int(as_text(value).strip())
    except ValueError:
        raise ValueError(f"got {shown(value)} where an integer is expected") from None


def _last(value: Any, arg: Any) -> Any:
    return None if value is None else as_text(value).strip()[-int(arg or 4):]


TRANSFORMS: dict[str, Transform] = {
    "text": _text,
    "strip": _strip,
    "upper": _upper,
    "lower": _lower,
    "null_if": _null_if,
    "default": _default,
    "join": _join,
    "split": _split,
    "date": _date,
    "datetime": _datetime,
    "epoch": _epoch,
    "money": _money,
    "money_minor": _money_minor,
    "enum": _enum,
    "int": _int,
    "last": _last,
}


def apply_steps(value: Any, steps: tuple[Step, ...]) -> Any:
    """Run `value` through each step in order."""
    for step in steps:
        if isinstance(step, str):
            value = TRANSFORMS[step](value, None)
        else:
            ((name, arg),) = step.items()
            value = TRANSFORMS[name](value, arg)
    return value


Steps = tuple[tuple[Transform, Any], ...]


def compile_steps(steps: tuple[Step, ...]) -> Steps:
    """Each step's transform and argument, looked up once (a mapping's steps run on every row)."""
    out = []
    for step in steps:
        if isinstance(step, str):
            out.append((TRANSFORMS[step], None))
        else:
            ((name, arg),) = step.items()
            out.append((TRANSFORMS[name], arg))
    return tuple(out)


def run_steps(value: Any, steps: Steps) -> Any:
    """`apply_steps` with steps `compile_steps` looked up."""
    for transform, arg in steps:
        value = transform(value, arg)
    return value


