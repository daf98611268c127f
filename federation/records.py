"""The one primitive every source answers with: a record of one entity, with keys and provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = ["EMPTY", "Money", "Record", "SourceRef", "parse_source_ref"]

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency (ISO 4217 code)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError(f"Money.currency must be a 3-letter ISO code, got {self.currency!r}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a record lives: `<source>:<localId>`."""

    source: str
    local_id: str

    def __str__(self) -> str:
        return f"{self.source}:{self.local_id}"


def parse_source_ref(text: str) -> SourceRef | None:
    """Split `"<source>:<localId>"`; None when the text has no source part."""
    source, sep, local_id = text.strip().partition(":")
    if not sep or not source or not local_id:
        return None
    return SourceRef(source, local_id)


@dataclass(frozen=True, slots=True, init=False)
class Record:
    """One row of one entity from one source, already in unified names and types.

    `keys` holds normalized match-key values (the only thing identity uses), `refs` the local ids
    of related records in the same source, `raw` the source's own text for coded fields (enums),
    and `errors` the fields whose source value could not be read (the rest of the record stands).
    `as_of` is set by sources that serve a copy (an export file): the time of the copy the record
    was read from, so its age is that copy's even after a newer one replaced it; None when live.
    """

    entity: str
    source: str
    local_id: str
    fields: Mapping[str, Any]
    keys: Mapping[str, tuple[str, ...]]
    refs: Mapping[str, str]
    updated_at: datetime | None
    raw: Mapping[str, str]
    errors: Mapping[str, str]
    as_of: datetime | None
    # (entity, source, local_id): identity of the record, computed once (the engine keys on it a lot).
    uid: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __init__(self, entity: str, source: str, local_id: str, fields: Mapping[str, Any] = EMPTY,
                 keys: Mapping[str, tuple[str, ...]] = EMPTY, refs: Mapping[str, str] = EMPTY,
                 updated_at: datetime | None = None, raw: Mapping[str, str] = EMPTY,
                 errors: Mapping[str, str] = EMPTY, as_of: datetime | None = None) -> None:
        # Every source row becomes a Record, so this runs per row: the slots' own setters, bound
        # once, take half the time of the generated frozen __init__ (object.__setattr__ per field).
        _ENTITY(self, entity)
        _SOURCE(self, source)
        _LOCAL_ID(self, local_id)
        _FIELDS(self, fields)
        _KEYS(self, keys)
        _REFS(self, refs)
        _UPDATED_AT(self, updated_at)
        _RAW(self, raw)
        _ERRORS(self, errors)
        _AS_OF(self, as_of)
        _UID(self, (entity, source, local_id))

    @property
    def ref(self) -> SourceRef:
        return SourceRef(self.source, self.local_id)

    def __hash__(self) -> int:
        return hash(self.uid)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return self.uid == other.uid


_ENTITY, _SOURCE, _LOCAL_ID, _FIELDS, _KEYS, _REFS, _UPDATED_AT, _RAW, _ERRORS, _AS_OF, _UID = (
    getattr(Record, name).__set__
    for name in ("entity", "source", "local_id", "fields", "keys", "refs", "updated_at", "raw", "errors", "as_of",
                 "uid")
)
