"""The override store on SQLite and PostgreSQL: append-only rows, latest decides, clear failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from federation.identity.overrides import OverrideSettings, OverrideStore, OverrideStoreError
from tests.conftest import fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite+aiosqlite:///overrides.db"
        return
    with fresh_postgres("onepane_ov") as database:
        yield database


async def test_latest_decision_per_pair_wins_and_forget_clears(url: str, tmp_path: Path) -> None:
    store = OverrideStore(OverrideSettings(url=url, refresh_seconds=60), tmp_path)
    assert (await store.snapshot()).of("Customer", "shop:1") == []
    await store.add("Customer", "shop:1", "crm:C1", "link", "same person", "sam")
    (row,) = (await store.snapshot()).of("Customer", "shop:1")  # a write refreshes the snapshot at once
    assert (row.a, row.b, row.kind, row.principal) == ("crm:C1", "shop:1", "link", "sam")
    assert row.label() == "override by sam: same person"
    await store.add("Customer", "crm:C1", "shop:1", "never", "twins", "ann")
    assert [o.kind for o in (await store.snapshot()).of("Customer", "crm:C1")] == ["never"]
    await store.add("Customer", "shop:1", "crm:C1", "forget", "undo", "ann")
    assert (await store.snapshot()).of("Customer", "shop:1") == []
    await store.close()
    reopened = OverrideStore(OverrideSettings(url=url), tmp_path)
    assert (await reopened.snapshot()).of("Customer", "shop:1") == []  # history kept, decision gone
    await reopened.close()


async def test_a_read_never_creates_the_sqlite_file(tmp_path: Path) -> None:
    store = OverrideStore(OverrideSettings(), tmp_path)
    assert (await store.snapshot()).of("Customer", "x:1") == []
    assert not (tmp_path / "overrides.db").exists()


async def test_an_unreachable_store_refuses_writes_clearly_and_reads_as_empty(tmp_path: Path) -> None:
    store = OverrideStore(OverrideSettings(url="postgresql://nobody@127.0.0.1:1/none"), tmp_path)
    with pytest.raises(OverrideStoreError, match="could not be written"):
        await store.add("Customer", "a:1", "b:2", "link", "x", "sam")
    assert (await store.snapshot()).of("Customer", "a:1") == []
