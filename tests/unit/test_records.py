"""Record: immutable, identified by (entity, source, local id), built with defaults or by replace."""

from __future__ import annotations

import dataclasses

import pytest

from federation.records import EMPTY, Record


def test_a_record_is_immutable_and_equal_to_another_with_its_identity() -> None:
    record = Record("Customer", "crm", "C-1", fields={"name": "Ann"})
    assert record.uid == ("Customer", "crm", "C-1") and str(record.ref) == "crm:C-1"
    assert record.keys is EMPTY and record.refs is EMPTY and record.updated_at is None and record.errors is EMPTY
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.local_id = "C-2"  # type: ignore[misc]
    assert record == Record("Customer", "crm", "C-1") and hash(record) == hash(Record("Customer", "crm", "C-1"))
    assert record != Record("Customer", "shop", "C-1")


def test_replace_keeps_every_other_value_and_the_identity_follows() -> None:
    record = Record(entity="Customer", source="crm", local_id="C-1", fields={"name": "Ann"}, keys={"email": ("a@x",)})
    marked = dataclasses.replace(record, errors={"name": "bad"})
    assert marked.fields == {"name": "Ann"} and marked.keys == {"email": ("a@x",)} and marked.errors == {"name": "bad"}
    moved = dataclasses.replace(record, local_id="C-2")
    assert moved.uid == ("Customer", "crm", "C-2")
