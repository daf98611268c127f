"""A snapshot's lookup values, read a column at a time, are exactly what the core's normalizers
give one value at a time: a key lookup on an export answers as mapping every row would."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.files.normal import Normal, normalized

TRICKY = [None, "", "  ", " Ann.Lee @Example.COM ", "ann@example", "a@b.c", "Zoë@Exämple.com", "x\x1c@y.z",
          "a\x0b@b.co", "ann@@example.com", "\tC-1001\n", "C\u00a01001", "bf 2025-0042",
          "\uff21\uff22\uff23\uff11\uff12\uff13", "Straße 1", "  Zoë   SMITH ", "A\x1fB", "ǅ"]


def _check(values: list[str | None]) -> None:
    column = pa.chunked_array([pa.array(values, pa.string())])
    for kind in ("id", "email", "exact", "code", "text"):
        how = Normal(kind, "GB")
        assert normalized(column, how) == [how.one(v) for v in values], kind


def test_tricky_values_read_as_the_core_reads_them() -> None:
    _check(TRICKY)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=0x7f)),
                          st.text(), st.emails()), max_size=20))
def test_any_text_reads_as_the_core_reads_it(values: list[str | None]) -> None:
    _check(values)
