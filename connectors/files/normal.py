"""Lookup values of a whole column at once, exactly as the core's normalizers read them one by one.

Reading a snapshot normalizes every row's keys once; in Python that is a few seconds per million
rows, so the common cases run as Arrow compute kernels over the column. Each kernel is used only
where it provably gives the normalizer's own answer (an email in plain ASCII, say); every other
value goes through the core's normalizer itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from federation.keys import normalize

__all__ = ["Normal", "normalized"]

# Python's `\s` on ASCII text, spelled out: RE2's `\s` leaves out \v and \x1c-\x1f.
_WS = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
_EMAIL = r"^[^@\t\n\x0b\x0c\r\x1c-\x1f ]+@[^@\t\n\x0b\x0c\r\x1c-\x1f ]+\.[^@\t\n\x0b\x0c\r\x1c-\x1f ]+$"


@dataclass(frozen=True, slots=True)
class Normal:
    """How one lookup's values are read: `id` (ids and refs: trimmed text) or a key normalizer."""

    kind: str
    region: str

    def one(self, value: object) -> str | None:
        if value is None:
            return None
        if self.kind == "id":
            return str(value).strip() or None
        return normalize(self.kind, value, self.region) or None


def normalized(column: pa.ChunkedArray, how: Normal) -> list[str | None]:
    """Every row's lookup value (None: the row has none)."""
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        return [how.one(v) for v in column.to_pylist()]  # Parquet numbers, dates: as str() reads them
    if how.kind == "code":  # removes every non-ASCII character, as the normalizer's regex does
        upper = pc.ascii_upper(pc.replace_substring_regex(column, pattern="[^0-9A-Za-z]+", replacement=""))
        return [v or None for v in upper.to_pylist()]
    if how.kind not in ("id", "email", "exact", "text"):
        return [how.one(v) for v in column.to_pylist()]
    ascii_only = pc.fill_null(pc.string_is_ascii(column), True)
    if how.kind == "email":
        plain = pc.ascii_lower(pc.replace_substring_regex(column, pattern=_WS + "+", replacement=""))
        fast = pc.if_else(pc.match_substring_regex(plain, pattern=_EMAIL), plain, pa.scalar(None, pa.string()))
    elif how.kind == "text":  # how searches compare text: spaces collapsed, trimmed, case folded
        spaced = pc.replace_substring_regex(column, pattern=_WS + "+", replacement=" ")
        fast = pc.ascii_lower(pc.utf8_trim(spaced, characters=" "))
    else:  # ids and exact keys: trimmed (Python's strip, on ASCII text)
        fast = pc.utf8_trim(column, characters="\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")
    values = fast.to_pylist()
    if not pc.all(ascii_only).as_py():
        for row, (raw, ok) in enumerate(zip(column.to_pylist(), ascii_only.to_pylist(), strict=True)):
            if not ok:
                values[row] = how.one(raw)
    return [v or None for v in values]
