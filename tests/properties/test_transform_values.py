"""Every transform, fed arbitrary JSON-ish and column values, gives a value of the field's type or
a labelled field error showing the raw value: never an exception, never junk read as a value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sdk import EntityMapBase, RecordMapper
from connectors.sdk.transforms import TRANSFORMS
from tests.properties.edge import JSON_VALUES, MODEL, check_field

# (field, transform steps, columns read): every transform appears at least once.
CASES: list[tuple[str, list[Any], int]] = [
    ("s", [], 1), ("s", ["text"], 1), ("s", ["strip", "upper"], 1), ("s", ["lower"], 1),
    ("s", [{"null_if": ["", "N/A"]}, {"default": "none given"}], 1), ("s", [{"last": 4}], 1),
    ("s", [{"join": " "}], 2), ("ss", [], 1), ("ss", [{"split": ","}], 1), ("ss", ["strip", {"split": ";"}], 1),
    ("i", [], 1), ("i", ["int"], 1), ("f", [], 1), ("b", [], 1), ("dec", [], 1),
    ("d", [], 1), ("d", [{"date": "YYYYMMDD"}], 1), ("d", [{"date": "DD/MM/YYYY"}], 1), ("d", [{"date": "ISO"}], 1),
    ("dt", [], 1), ("dt", [{"datetime": "ISO"}], 1), ("dt", ["epoch"], 1), ("dt", [{"epoch": "ms"}], 1),
    ("dt", [{"datetime": {"format": "YYYYMMDD HHmm", "tz": "Europe/London"}}], 2),
    ("m", [{"money": "GBP"}], 1), ("m", ["money"], 2), ("m", [{"money": "EUR"}], 2), ("m", [{"money_minor": "JPY"}], 1),
    ("tone", [], 1), ("side", [], 1), ("tones", [], 1), ("tone", ["strip", {"enum": {"R": "RED", "g": "green"}}], 1),
    ("side", [{"enum": {"1": "LEFT", "2": "RIGHT"}}], 1),
]


def test_every_transform_is_exercised() -> None:
    used = {s if isinstance(s, str) else next(iter(s)) for _, steps, _ in CASES for s in steps}
    assert used == set(TRANSFORMS)


def _mapper(name: str, steps: list[Any], columns: int) -> RecordMapper:
    origin = {"columns": [f"c{i}" for i in range(columns)], "transform": steps}
    mapping = EntityMapBase.model_validate({"id": "id", "fields": {name: origin}})
    return RecordMapper("probe", "Probe", mapping, MODEL, "GB")


@pytest.mark.parametrize(("name", "steps", "columns"), CASES, ids=[f"{n}-{s}" for n, s, _ in CASES])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_transform_gives_a_typed_value_or_a_labelled_error(name: str, steps: list[Any], columns: int,
                                                             data: st.DataObject) -> None:
    mapper = _mapper(name, steps, columns)
    assert not mapper.problems
    values = [data.draw(JSON_VALUES, label=f"c{i}") for i in range(columns)]
    row = {"id": "r1", **{f"c{i}": v for i, v in enumerate(values)}}
    record = mapper.to_record(row.__getitem__)  # never raises
    check_field(record, name, values[0] if columns == 1 else values)


@settings(max_examples=100, deadline=None)
@given(value=JSON_VALUES)
def test_an_id_its_transforms_cannot_read_keeps_the_record_as_written(value: Any) -> None:
    mapping = EntityMapBase.model_validate({"id": {"column": "id", "transform": ["int"]},
                                            "refs": {"other": {"column": "id", "transform": [{"last": 3}]}},
                                            "fields": {"s": "c0"}})
    record = RecordMapper("probe", "Probe", mapping, MODEL, "GB").to_record({"id": value, "c0": "x"}.__getitem__)
    assert record.fields["s"] == "x"
    if value is not None and str(value).strip():
        assert record.local_id
