"""The canonical dataset every connector under the kit serves, its mapping, and the answers expected.

Two entities of the built-in model: `Customer` and `Purchase` (a purchase refers to its customer).
Rows are flat: one value per column, the same column names whether the source is a SQL table, a
JSON array or a CSV export, so one mapping (`column:` names, which JSON sources read as paths)
fits every connector. The rows are written the way legacy systems write them (mixed case, spaces,
national phone formats) and one customer holds values nobody can read, so the kit can check that
such values are kept and labelled rather than dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from federation.records import Money

__all__ = ["COLUMNS", "ENTITIES", "EXPECTED", "MISSING", "ROWS", "TABLES", "Expected", "mapping", "rows"]

ENTITIES = ("Customer", "Purchase")
TABLES = {"Customer": "customers", "Purchase": "purchases"}  # table, endpoint or file name per entity
MISSING = "NO-SUCH-ID-404"  # an id no source holds: a lookup for it finds nothing, and no error

COLUMNS: dict[str, tuple[str, ...]] = {
    "Customer": ("id", "name", "email", "phone", "loyalty", "birth_date"),
    "Purchase": ("id", "order_no", "customer_id", "customer_email", "channel", "status", "placed_at",
                 "total_minor"),
}

ROWS: dict[str, list[tuple[Any, ...]]] = {
    "Customer": [
        ("C1", "Ann Lee", " Ann.Lee@Example.COM ", "020 7946 0958", "ab-123", "1980-02-01"),
        ("C2", "Bob Stone", "bob@example.com", "+44 7700 900123", "CD456", "1975-12-15"),
        ("C3", "Cara Díaz", "cara@example.com", None, None, "1990-06-05"),
        # Unreadable on purpose: no email address, and the 31st of February.
        ("C4", "Dan O'Neil", "not-an-email", "07700 900456", "EF-789", "1980-02-31"),
        ("C5", "Eve Adams", "EVE@example.com", "02079460000", None, None),
    ],
    "Purchase": [
        ("P1", "SO-1001", "C1", "ann.lee@example.com", "WEB", "SHIPPED", "2024-01-05T10:00:00+00:00", 1234),
        ("P2", "SO-1002", "C1", "ann.lee@example.com", "STORE", "COMPLETED", "2024-01-06T11:30:00+00:00", 2550),
        ("P3", "SO-1003", "C2", "bob@example.com", "WEB", "CANCELLED", "2024-02-01T09:00:00+00:00", 999),
        ("P4", "so-1004", "C3", "Cara@Example.com", "PHONE", "DELIVERED", "2024-02-03T15:45:00+00:00", 10000),
        ("P5", "SO-1005", "C5", "eve@example.com", "WEB", "PENDING", "2024-03-10T08:15:00+00:00", 1),
        ("P6", "SO-1006", None, None, "MARKETPLACE", "REFUNDED", "2024-03-11T12:00:00+00:00", 4321),
    ],
}


def rows(entity: str) -> list[dict[str, Any]]:
    """The entity's rows as `{column: value}` (None where the source holds nothing)."""
    return [dict(zip(COLUMNS[entity], row, strict=True)) for row in ROWS[entity]]


_MAPPINGS: dict[str, dict[str, Any]] = {
    "Customer": {
        "id": {"column": "id"},
        "fields": {"name": "name", "emails": "email", "phones": "phone", "loyaltyNumbers": "loyalty",
                   "dateOfBirth": "birth_date"},
        "keys": {"email": "email", "phone": "phone", "loyaltyNumber": "loyalty"},
    },
    "Purchase": {
        "id": {"column": "id"},
        "fields": {"orderNumber": "order_no", "channel": "channel", "status": "status", "placedAt": "placed_at",
                   "total": {"column": "total_minor", "transform": [{"money_minor": "GBP"}]}},
        "keys": {"orderNumber": "order_no", "customerEmail": "customer_email"},
        "refs": {"customer": "customer_id"},
    },
}


def mapping(entity: str) -> dict[str, Any]:
    """The mapping of `entity` onto the dataset's columns (`id`, `fields`, `keys`, `refs`), as a
    config would write it. Add what your connector needs beside it (a table, a path)."""
    import copy

    return copy.deepcopy(_MAPPINGS[entity])


@dataclass(frozen=True)
class Expected:
    """What a record read from one row must hold: fields, normalized keys, refs, fields in error."""

    fields: dict[str, Any]
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    errors: frozenset[str] = frozenset()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _gbp(pence: int) -> Money:
    return Money(Decimal(pence).scaleb(-2), "GBP")


EXPECTED: dict[str, dict[str, Expected]] = {
    "Customer": {
        "C1": Expected({"name": "Ann Lee", "emails": [" Ann.Lee@Example.COM "], "phones": ["+442079460958"],
                        "loyaltyNumbers": ["ab-123"], "dateOfBirth": date(1980, 2, 1)},
                       {"email": ("ann.lee@example.com",), "phone": ("+442079460958",), "loyaltyNumber": ("AB123",)}),
        "C2": Expected({"name": "Bob Stone", "emails": ["bob@example.com"], "phones": ["+447700900123"],
                        "loyaltyNumbers": ["CD456"], "dateOfBirth": date(1975, 12, 15)},
                       {"email": ("bob@example.com",), "phone": ("+447700900123",), "loyaltyNumber": ("CD456",)}),
        "C3": Expected({"name": "Cara Díaz", "emails": ["cara@example.com"], "phones": [], "loyaltyNumbers": [],
                        "dateOfBirth": date(1990, 6, 5)},
                       {"email": ("cara@example.com",)}),
        "C4": Expected({"name": "Dan O'Neil", "emails": ["not-an-email"], "phones": ["+447700900456"],
                        "loyaltyNumbers": ["EF-789"], "dateOfBirth": None},
                       {"phone": ("+447700900456",), "loyaltyNumber": ("EF789",)},
                       errors=frozenset({"emails", "dateOfBirth"})),
        "C5": Expected({"name": "Eve Adams", "emails": ["EVE@example.com"], "phones": ["+442079460000"],
                        "loyaltyNumbers": [], "dateOfBirth": None},
                       {"email": ("eve@example.com",), "phone": ("+442079460000",)}),
    },
    "Purchase": {
        "P1": Expected({"orderNumber": "SO-1001", "channel": "WEB", "status": "SHIPPED",
                        "placedAt": _when("2024-01-05T10:00:00+00:00"), "total": _gbp(1234)},
                       {"orderNumber": ("SO1001",), "customerEmail": ("ann.lee@example.com",)}, {"customer": "C1"}),
        "P2": Expected({"orderNumber": "SO-1002", "channel": "STORE", "status": "COMPLETED",
                        "placedAt": _when("2024-01-06T11:30:00+00:00"), "total": _gbp(2550)},
                       {"orderNumber": ("SO1002",), "customerEmail": ("ann.lee@example.com",)}, {"customer": "C1"}),
        "P3": Expected({"orderNumber": "SO-1003", "channel": "WEB", "status": "CANCELLED",
                        "placedAt": _when("2024-02-01T09:00:00+00:00"), "total": _gbp(999)},
                       {"orderNumber": ("SO1003",), "customerEmail": ("bob@example.com",)}, {"customer": "C2"}),
        "P4": Expected({"orderNumber": "so-1004", "channel": "PHONE", "status": "DELIVERED",
                        "placedAt": _when("2024-02-03T15:45:00+00:00"), "total": _gbp(10000)},
                       {"orderNumber": ("SO1004",), "customerEmail": ("cara@example.com",)}, {"customer": "C3"}),
        "P5": Expected({"orderNumber": "SO-1005", "channel": "WEB", "status": "PENDING",
                        "placedAt": _when("2024-03-10T08:15:00+00:00"), "total": _gbp(1)},
                       {"orderNumber": ("SO1005",), "customerEmail": ("eve@example.com",)}, {"customer": "C5"}),
        "P6": Expected({"orderNumber": "SO-1006", "channel": "MARKETPLACE", "status": "REFUNDED",
                        "placedAt": _when("2024-03-11T12:00:00+00:00"), "total": _gbp(4321)},
                       {"orderNumber": ("SO1006",)}),
    },
}
