"""Each transform's argument checked when the config loads, not when the first row meets it.

A wrong argument would otherwise fail on every record (`{money: dollars}`), or worse, quietly do
something else (`{epoch: msec}` read as seconds, `{date: dd/mm/yyyy}` read as minutes).
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.sdk.currency import currency_problem, minor_digits
from connectors.sdk.transforms import EPOCH_UNITS, TRANSFORMS, strptime_format
from federation.messages import cut

__all__ = ["check_step", "format_problem"]

Check = Callable[[Any], str | None]
_SCALARS = (str, int, float, bool)
# Every field distinct, and aware (so %z and %Z write something): a format that reads it back is usable.
_SAMPLE = datetime(2001, 12, 31, 23, 58, 59, 123456, tzinfo=UTC)
_DIRECTIVE = re.compile(r"%(.)")


def check_step(step: Any) -> str | None:
    """None when `step` is a valid transform step with a valid argument, else what is wrong."""
    if isinstance(step, str):
        name, arg = step, None
    elif isinstance(step, Mapping) and len(step) == 1:
        ((name, arg),) = step.items()
    else:
        return "a transform step is a name or a mapping with one name, e.g. {date: YYYYMMDD}"
    if name not in TRANSFORMS:
        close = difflib.get_close_matches(str(name), list(TRANSFORMS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown transform '{cut(str(name))}'{hint}; valid: {', '.join(TRANSFORMS)}"
    problem = _CHECKS.get(name, _no_argument)(arg)
    return f"{name}: {problem}" if problem else None


def format_problem(pattern: Any) -> str | None:
    """None when `pattern` (tokens YYYY MM DD HH mm ss, or strptime %-codes) reads a whole date."""
    if pattern is None or (isinstance(pattern, str) and pattern.strip().upper() == "ISO"):
        return None
    if not isinstance(pattern, str) or not pattern.strip():
        return f"the format is text such as YYYYMMDD, DD/MM/YYYY HH:mm or ISO, not {cut(repr(pattern))}"
    fmt = strptime_format(pattern)
    try:
        datetime.strptime(_SAMPLE.strftime(fmt), fmt)
    except Exception as exc:  # ValueError, or re.error for a directive written twice
        return f"'{cut(pattern)}' is not a usable format ({exc}); tokens: YYYY YY MM DD HH mm ss, or ISO"
    used = set(_DIRECTIVE.findall(fmt))
    has_year = bool(used & set("YyGcx"))
    has_month = bool(used & set("mbBjcx")) or bool(used & set("UWV") and used & set("aAwu"))
    if not (has_year and has_month):
        return (f"'{cut(pattern)}' reads no whole date (a year and a month); tokens: YYYY YY MM DD HH mm ss "
                "(upper case: mm is minutes), or ISO")
    return None


def _no_argument(arg: Any) -> str | None:
    return None if arg is None else f"takes no argument (got {cut(repr(arg))}); write it as a plain name"


def _scalar_or_list(what: str, required: bool) -> Check:
    def check(arg: Any) -> str | None:
        if arg is None and not required:
            return None
        values = arg if isinstance(arg, list) else [arg]
        if arg is None or not values or not all(isinstance(v, _SCALARS) for v in values):
            return f"takes {what}, not {cut(repr(arg))}"
        return None
    return check


def _separator(required: bool) -> Check:
    def check(arg: Any) -> str | None:
        if arg is None or (isinstance(arg, str) and (arg or not required)):
            return None
        return f"takes a separator text such as ',' (got {cut(repr(arg))})"
    return check


def _datetime(arg: Any) -> str | None:
    if not isinstance(arg, Mapping):
        return format_problem(arg)
    unknown = sorted(str(k) for k in arg if k not in ("format", "tz"))
    if unknown:
        return f"unknown option '{cut(unknown[0])}' (valid: format, tz)"
    found = [p for p in (format_problem(arg.get("format")), _zone_problem(arg.get("tz"))) if p]
    return "; ".join(found) or None


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone_problem(tz: Any) -> str | None:
    if tz is None:
        return None
    if isinstance(tz, str) and tz in _zones():
        return None
    close = difflib.get_close_matches(str(tz), sorted(_zones()), n=3, cutoff=0.6)
    return (f"tz '{cut(str(tz))}' is not an IANA time zone such as Europe/London or America/New_York "
            f"(close matches: {', '.join(close) or 'none'})")


def _epoch(arg: Any) -> str | None:
    if arg is None or arg in EPOCH_UNITS:
        return None
    return f"unit '{cut(str(arg))}' is not one of {', '.join(EPOCH_UNITS)}"


def _money(arg: Any) -> str | None:
    return None if arg is None else currency_problem(arg)


def _money_minor(arg: Any) -> str | None:
    if arg is None:
        return "needs its currency, e.g. {money_minor: GBP}"
    problem = currency_problem(arg)
    if problem is None and minor_digits(arg) is None:
        return f"{arg} has no minor unit in ISO 4217; map the amount with {{money: {arg}}}"
    return problem


def _enum(arg: Any) -> str | None:
    if not isinstance(arg, Mapping) or not arg:
        return f"takes a code table such as {{P: PROCESSING, C: CANCELLED}}, not {cut(repr(arg))}"
    for code, target in arg.items():
        if not isinstance(code, _SCALARS) or not isinstance(target, str) or not target.strip():
            return f"code {cut(repr(code))} must map to an enum value's name, not {cut(repr(target))}"
    return None


def _last(arg: Any) -> str | None:
    if arg is None or (isinstance(arg, int) and not isinstance(arg, bool) and arg > 0):
        return None
    return f"takes a positive count of characters, e.g. {{last: 4}} (got {cut(repr(arg))})"


_CHECKS: Mapping[str, Check] = {
    "null_if": _scalar_or_list("a value or a list of values, e.g. {null_if: ['', 'N/A']}", required=True),
    "default": _scalar_or_list("a value (or a list of values for a list field)", required=True),
    "join": _separator(required=False),
    "split": _separator(required=True),
    "date": format_problem,
    "datetime": _datetime,
    "epoch": _epoch,
    "money": _money,
    "money_minor": _money_minor,
    "enum": _enum,
    "last": _last,
}
