"""Date and date-time columns: native types, ISO text, YYYYMMDD codes and epoch numbers."""

from __future__ import annotations

from connectors.sdk.drafting.guesses import Guess, Sure
from connectors.sdk.drafting.profile import ColumnProfile, TableProfile
from connectors.sdk.drafting.values import looks_epoch, looks_iso_datetime, looks_yyyymmdd, share

__all__ = ["time_guess"]


def time_guess(type_name: str, column: ColumnProfile, table: TableProfile, said: str, sure: Sure) -> Guess | None:
    """`{datetime: ISO}`, `{date: YYYYMMDD}`, `epoch`, … for a column whose values read as times."""
    step = "datetime" if type_name == "DateTime" else "date"
    values = table.values(column.name)
    if column.kind in ("date", "datetime") or column.format in ("date", "date-time"):
        declared = column.kind if column.kind in ("date", "datetime") else column.format
        return Guess({"column": column.name, "transform": [{step: "ISO"}]}, f"{said}, a {declared} column", sure)
    if values and share(values, looks_yyyymmdd) >= 0.9:
        return Guess({"column": column.name, "transform": [{step: "YYYYMMDD"}]},
                     f"{said}; {share(values, looks_yyyymmdd):.0%} of {len(values)} sampled values are YYYYMMDD dates",
                     "high")
    if values and share(values, looks_iso_datetime) >= 0.9:
        return Guess({"column": column.name, "transform": [{step: "ISO"}]},
                     f"{said}; its sampled values are ISO dates", sure)
    units = {looks_epoch(v) for v in values}
    if values and len(units) == 1 and None not in units and step == "datetime":
        unit = units.pop()
        return Guess({"column": column.name, "transform": ["epoch" if unit == "s" else {"epoch": unit}]},
                     f"{said}; its sampled values are epoch {'seconds' if unit == 's' else 'milliseconds'}", sure)
    if not values and column.kind == "int" and step == "datetime":
        return Guess({"column": column.name, "transform": ["epoch"]}, f"{said}, a whole number (schema only)",
                     "low", f"is {column.name} epoch seconds? (say {{epoch: ms}} for milliseconds)")
    if not values and column.kind == "text":
        return Guess({"column": column.name, "transform": [{step: "ISO"}]}, f"{said}, text (schema only)", "low",
                     f"in what format is {column.name} written? (ISO assumed)")
    return None
