"""The conformance suite: every promise of the connector contract, checked against the dataset.

A connector package subclasses `ConnectorConformance` in a test module named `test_*.py`, as a
class named `Test…`, and gives it one fixture, `conformance_harness`, returning a `Harness`: how to
build a connector over a test source that holds the kit's dataset (connectors/sdk/testing/dataset.py)
mapped with the kit's mapping. The suite then checks, for every entity of the dataset the
connector serves:

- every record is read, with the expected fields, keys and refs, and an unreadable value is kept
  as written (or left empty) and labelled in `Record.errors`, naming the record and the field;
- a lookup by id, by each declared key and by each declared ref answers many values in ONE request
  to the source (counted by `Harness.calls`) and finds exactly the records the dataset says;
- a search with each declared filter (field and operator) keeps exactly the records the engine's
  own filter (federation/engine/residual.py) keeps, and a filter it does not declare never loses one;
  each declared order sorts as the engine sorts, and a limit keeps the first records of that order;
- `aggregate`, where declared, counts and totals as grouping the searched records does;
- a cancelled call raises CancelledError and leaves the connector working; `health`/`ready` say ok;
  `open`/`close` may be repeated and leave no task running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from connectors.sdk.testing.calls import SourceCalls
from connectors.sdk.testing.dataset import ENTITIES, EXPECTED, MISSING
from federation.contract import (
    AggregateRequest,
    Condition,
    Connector,
    ConnectorContext,
    EntityCapabilities,
    Op,
    SearchRequest,
    SortKey,
)
from federation.engine.residual import comparable, field_values, matches, sort_records
from federation.errors import SourceTimeout
from federation.model.loader import builtin_model
from federation.records import Money, Record

__all__ = ["ConnectorConformance", "Harness", "context"]


def context(base_dir: Path | str = ".") -> ConnectorContext:
    """The context connectors under the kit get: the built-in model, phones read in region GB."""
    return ConnectorContext(model=builtin_model(), base_dir=Path(base_dir), region="GB")


@dataclass
class Harness:
    """How the suite gets a connector over the test source.

    `make` builds a new, unopened connector (the suite opens and closes it); `calls` is bumped by
    the test source once per request it receives (see SourceCalls); `entities` are the dataset's
    entities this connector is configured for.
    """

    make: Callable[[], Connector]
    calls: SourceCalls
    entities: Sequence[str] = field(default=ENTITIES)
    # Optional: an async context in which the test source holds every request (a table lock, a
    # server that sleeps), and the timeout the connector was configured with. The suite then
    # checks a call ends in SourceTimeout soon after that timeout, and that it answers again after.
    stall: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    timeout: float = 1.0


def _ids(records: Sequence[Record]) -> list[str]:
    return sorted(r.local_id for r in records)


def _holding(entity: str, kind: str, name: str, values: Sequence[str]) -> list[str]:
    """The dataset's ids whose key or ref `name` holds any of `values`."""
    out = []
    for local_id, want in EXPECTED[entity].items():
        held = want.keys.get(name, ()) if kind == "key" else (want.refs.get(name),)
        if set(held) & set(values):
            out.append(local_id)
    return sorted(out)


class ConnectorConformance:
    """Subclass as `class TestMyConnector(ConnectorConformance)` and define `conformance_harness`."""

    @pytest_asyncio.fixture
    async def connector(self, conformance_harness: Harness) -> AsyncIterator[Connector]:
        made = conformance_harness.make()
        await made.open()
        try:
            yield made
        finally:
            await made.close()

    @pytest_asyncio.fixture
    async def everything(self, connector: Connector, conformance_harness: Harness) -> dict[str, list[Record]]:
        """Each entity's records as a search with no condition returns them."""
        return {e: list(await connector.search(e, SearchRequest())) for e in conformance_harness.entities}

    # what is read

    async def test_serves_the_entities(self, connector: Connector, conformance_harness: Harness) -> None:
        served = set(connector.capabilities().entities)
        missing = [e for e in conformance_harness.entities if e not in served]
        assert not missing, f"capabilities() declare no {missing} (declared: {sorted(served)})"
        assert connector.problems() == [], "the kit's mapping should have no problems"

    async def test_reads_every_record(self, everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            assert _ids(records) == sorted(EXPECTED[entity]), f"{entity}: a search with no condition"
            assert len(records) == len(EXPECTED[entity]), f"{entity}: a record returned twice"

    async def test_fields_keys_and_refs(self, connector: Connector, everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            for record in records:
                want = EXPECTED[entity][record.local_id]
                where = f"{entity} {record.local_id}"
                assert (record.entity, record.source) == (entity, connector.name), f"{where}: entity and source"
                for name, value in want.fields.items():
                    assert record.fields.get(name) == value, f"{where}: field {name}"
                assert dict(record.keys) == want.keys, f"{where}: keys"
                assert dict(record.refs) == want.refs, f"{where}: refs"

    async def test_unreadable_values_are_kept_and_labelled(self, everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            for record in records:
                want = EXPECTED[entity][record.local_id]
                assert set(record.errors) == set(want.errors), f"{entity} {record.local_id}: fields in error"
                for name, message in record.errors.items():
                    # SOURCE_DATA_ERROR shows this message: it must say which record and which field.
                    assert record.local_id in message and name in message, (
                        f"{entity} {record.local_id}: error '{message}' names neither the record nor {name}")

    # lookups

    async def test_lookup_by_id_is_one_call(self, connector: Connector, conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            ids = sorted(EXPECTED[entity])
            await connector.lookup(entity, "id", ids[:1])  # warm: a first call may read the schema
            conformance_harness.calls.reset()
            found = await connector.lookup(entity, "id", [*ids, MISSING])
            assert _ids(found) == ids, f"{entity}: lookup by id of every id"
            assert conformance_harness.calls.count == 1, (
                f"{entity}: a lookup of {len(ids) + 1} ids made {conformance_harness.calls.count} requests, not 1")
            assert _ids(await connector.lookup(entity, "id", [MISSING])) == [], f"{entity}: an unknown id"
            assert _ids(await connector.lookup(entity, "id", [])) == [], f"{entity}: no values"

    async def test_lookup_by_each_key_is_one_call(self, connector: Connector,
                                                  conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            declared = connector.capabilities().entities[entity].lookups
            keys = sorted({k for e in EXPECTED[entity].values() for k in e.keys} & {
                d.removeprefix("key:") for d in declared if d.startswith("key:")})
            for key in keys:
                values = sorted({v for e in EXPECTED[entity].values() for v in e.keys.get(key, ())})
                await connector.lookup(entity, f"key:{key}", values[:1])
                conformance_harness.calls.reset()
                found = await connector.lookup(entity, f"key:{key}", [*values, MISSING])
                assert _ids(found) == _holding(entity, "key", key, values), (
                    f"{entity}: lookup by key:{key} of {values}")
                assert conformance_harness.calls.count == 1, (
                    f"{entity}: a lookup by key:{key} made {conformance_harness.calls.count} requests, not 1")
                one = values[0]
                assert _ids(await connector.lookup(entity, f"key:{key}", [one])) == _holding(
                    entity, "key", key, [one]), f"{entity}: key:{key} = {one}"

    async def test_lookup_by_each_ref_is_one_call(self, connector: Connector,
                                                  conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            declared = connector.capabilities().entities[entity].lookups
            refs = sorted({r for e in EXPECTED[entity].values() for r in e.refs} & {
                d.removeprefix("ref:") for d in declared if d.startswith("ref:")})
            for ref in refs:
                targets = sorted({e.refs[ref] for e in EXPECTED[entity].values() if ref in e.refs})[:2]
                await connector.lookup(entity, f"ref:{ref}", targets[:1])
                conformance_harness.calls.reset()
                found = await connector.lookup(entity, f"ref:{ref}", [*targets, MISSING])
                assert _ids(found) == _holding(entity, "ref", ref, targets), (
                    f"{entity}: lookup by ref:{ref} of {targets}")
                assert conformance_harness.calls.count == 1, (
                    f"{entity}: a lookup by ref:{ref} made {conformance_harness.calls.count} requests, not 1")

    async def test_lookup_many_finds_what_each_lookup_finds(self, connector: Connector,
                                                            conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            lookups = connector.capabilities().entities[entity].lookups
            keys = [k for k in ("email", "orderNumber") if f"key:{k}" in lookups]
            wanted: dict[str, list[str]] = {"id": [sorted(EXPECTED[entity])[0]]}
            for key in keys:
                wanted[f"key:{key}"] = sorted({v for e in EXPECTED[entity].values() for v in e.keys.get(key, ())})[-1:]
            alone = {r.local_id for by, values in wanted.items() for r in await connector.lookup(entity, by, values)}
            together = await connector.lookup_many(entity, wanted)
            assert _ids(together) == sorted(alone), f"{entity}: lookup_many({wanted})"

    async def test_lookup_and_search_read_records_alike(self, connector: Connector,
                                                        everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            looked = {r.local_id: r for r in await connector.lookup(entity, "id", [r.local_id for r in records])}
            for record in records:
                other = looked[record.local_id]
                assert (dict(other.fields), dict(other.keys), dict(other.refs), dict(other.errors)) == (
                    dict(record.fields), dict(record.keys), dict(record.refs), dict(record.errors)), (
                    f"{entity} {record.local_id}: read differently by lookup and by search")

    # search

    async def test_each_declared_filter_keeps_what_the_engine_keeps(
            self, connector: Connector, everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            caps = connector.capabilities().entities[entity]
            tried = 0
            for name, ops in sorted(caps.filters.items()):
                for op in sorted(ops):
                    for condition in _conditions(records, name, op):
                        tried += 1
                        await _check_search(connector, entity, records, condition)
            assert tried or not caps.filters, f"{entity}: no declared filter could be tried on the dataset"

    async def test_filters_not_declared_lose_nothing(self, connector: Connector,
                                                     everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            caps = connector.capabilities().entities[entity]
            names = sorted({n for r in records for n in (*r.fields, *r.keys)})
            for name in names:
                for op in ("eq", "in", "gte", "lt", "prefix", "contains"):
                    if op in caps.filters.get(name, ()):
                        continue
                    for condition in _conditions(records, name, op):
                        await _check_search(connector, entity, records, condition)

    async def test_each_declared_order_with_a_limit_keeps_the_first_records(
            self, connector: Connector, everything: dict[str, list[Record]]) -> None:
        """The engine re-sorts what a source returns and then cuts it, so a source may return rows in
        any order, but a limit it applies must keep the records that sort first."""
        for entity, records in everything.items():
            sortable = sorted(connector.capabilities().entities[entity].sortable)
            for name in sortable:
                for descending in (False, True):
                    order = (SortKey(name, descending),)
                    want = _firsts(sort_records(records, order), name)
                    for limit in range(1, len(records) + 1):
                        got = await connector.search(entity, SearchRequest(order=order, limit=limit))
                        assert _firsts(sort_records(got, order), name)[:limit] == want[:limit], (
                            f"{entity}: the first {limit} ordered by {name}{' descending' if descending else ''}")

    async def test_a_limit_never_loses_a_match(self, connector: Connector,
                                               everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            got = list(await connector.search(entity, SearchRequest(limit=2)))
            assert len(got) >= 2, f"{entity}: a search with limit 2 returned {len(got)} records"
            assert set(_ids(got)) <= set(EXPECTED[entity]), f"{entity}: a limited search"
            caps = connector.capabilities().entities[entity]
            for name, ops in sorted(caps.filters.items()):
                for op in sorted(ops):
                    for condition in _conditions(records, name, op):
                        expected = [r for r in records if matches(r, (condition,))]
                        for limit in range(1, len(expected) + 1):
                            found = await connector.search(entity, SearchRequest((condition,), limit=limit))
                            kept = [r for r in found if matches(r, (condition,))]
                            assert len(kept) >= limit, (
                                f"{entity}: search {condition.field} {condition.op} {condition.value!r} with "
                                f"limit {limit}: {len(kept)} matching records, though {len(expected)} match")

    # aggregate

    async def test_aggregate_counts_and_totals_as_grouping_the_records(
            self, connector: Connector, everything: dict[str, list[Record]]) -> None:
        for entity, records in everything.items():
            caps: EntityCapabilities = connector.capabilities().entities[entity]
            for group in sorted(caps.aggregates):
                for total in sorted(caps.sums) or [""]:
                    rows = await connector.aggregate(entity, AggregateRequest((), group, total))
                    if rows is None:
                        continue  # declared, but the source may decline this time: the engine searches
                    got: dict[Any, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
                    for row in rows:
                        key = None if group == "" else _group_key(row.group)
                        got[key][0] += row.count
                        if isinstance(row.total, Money):
                            got[key][1] += row.total.amount
                    assert dict(got) == _grouped(records, group, total), (
                        f"{entity}: aggregate by '{group}' totalling '{total}'")

    # cancellation, timeouts, health, lifecycle

    async def test_cancelled_calls_raise_and_leave_it_working(self, connector: Connector,
                                                              conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            ids = sorted(EXPECTED[entity])
            for delay in (0, 0, 0.0005, 0.001, 0.002, 0.005) * 3:
                task = asyncio.ensure_future(connector.search(entity, SearchRequest()))
                await asyncio.sleep(delay)
                if task.cancel():
                    with pytest.raises(asyncio.CancelledError):
                        await task  # a cancelled call is cancelled, not turned into an answer or an error
            async with asyncio.timeout(10):  # no connection or slot leaked by the cancelled calls
                assert _ids(await connector.lookup(entity, "id", ids)) == ids

    async def test_a_timeout_is_honoured(self, connector: Connector, conformance_harness: Harness) -> None:
        for entity in conformance_harness.entities:
            ids = sorted(EXPECTED[entity])
            for _ in range(5):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.0005):
                        await connector.lookup(entity, "id", ids)
            async with asyncio.timeout(10):
                assert _ids(await connector.lookup(entity, "id", ids)) == ids

    async def test_a_stalled_source_times_out(self, connector: Connector, conformance_harness: Harness) -> None:
        if conformance_harness.stall is None:
            pytest.skip("the harness gives no way to stall this source (Harness.stall): nothing waits on I/O")
        entity = conformance_harness.entities[0]
        ids = sorted(EXPECTED[entity])
        await connector.lookup(entity, "id", ids)  # connected before the source stalls
        bound = conformance_harness.timeout * 3 + 2
        async with conformance_harness.stall():
            started = time.monotonic()
            with pytest.raises(SourceTimeout):
                async with asyncio.timeout(bound):  # not the connector's: the suite's own limit
                    await connector.lookup(entity, "id", ids)
            assert time.monotonic() - started < bound, "the call outlived its timeout"
        async with asyncio.timeout(10):
            assert _ids(await connector.lookup(entity, "id", ids)) == ids, "answers again once the source does"

    async def test_health_and_ready(self, connector: Connector) -> None:
        health = await connector.health()
        assert health.ok, f"health after open: {health.detail}"
        ready = await connector.ready()
        assert ready.ok and not ready.mapping_fault, f"ready after open: {ready.detail}"

    async def test_open_and_close_are_idempotent(self, conformance_harness: Harness) -> None:
        before = asyncio.all_tasks()
        unopened = conformance_harness.make()
        await unopened.close()  # closing what never opened is harmless
        made = conformance_harness.make()
        await made.open()
        entity = conformance_harness.entities[0]
        first = sorted(EXPECTED[entity])[0]
        assert _ids(await made.lookup(entity, "id", [first])) == [first]
        await made.close()
        await made.close()
        await asyncio.sleep(0.05)
        left = [t for t in asyncio.all_tasks() - before if not t.done()]
        assert not left, f"tasks still running after close: {[t.get_name() for t in left]}"


def _conditions(records: Sequence[Record], name: str, op: Op) -> list[Condition]:
    """Conditions on `name` built from values the records hold: some match, some do not."""
    values = [v for r in sorted(records, key=lambda r: r.local_id) for v in field_values(r, name)]
    plain = [v.amount if isinstance(v, Money) else v for v in values if not isinstance(v, dict | list)]
    if not plain:
        return []
    out: list[Condition] = []
    if op == "eq":
        out += [Condition(name, "eq", _recase(plain[len(plain) // 2])), Condition(name, "eq", _recase(plain[0]))]
    elif op == "in":
        out.append(Condition(name, "in", (_recase(plain[0]), _recase(plain[-1]), MISSING)))
    elif op in ("gt", "gte", "lt", "lte"):
        try:
            ordered = sorted(set(map(comparable, plain)))
        except TypeError:
            return []
        middle = ordered[len(ordered) // 2]
        out.append(Condition(name, op, _original(plain, middle)))
    elif op in ("prefix", "contains"):
        texts = [v for v in plain if isinstance(v, str) and len(v.strip()) >= 3]
        if texts:
            text = texts[len(texts) // 2].strip()
            out.append(Condition(name, op, _recase(text[:3] if op == "prefix" else text[1:3])))
    return out


def _recase(value: Any) -> Any:
    """Text in another case (matches ignore case); other values as they are."""
    return value.swapcase() if isinstance(value, str) else value


def _original(plain: list[Any], wanted: Any) -> Any:
    return next(v for v in plain if comparable(v) == wanted)


async def _check_search(connector: Connector, entity: str, records: Sequence[Record], condition: Condition) -> None:
    """The engine re-checks what a source returns (a superset is allowed): what it keeps then must
    be exactly what filtering every record keeps."""
    expected = sorted(r.local_id for r in records if matches(r, (condition,)))
    got = list(await connector.search(entity, SearchRequest(conditions=(condition,))))
    kept = sorted(r.local_id for r in got if matches(r, (condition,)))
    what = f"{entity}: search {condition.field} {condition.op} {condition.value!r}"
    assert kept == expected, f"{what}: the records the engine keeps differ from a full search's"


def _firsts(records: Sequence[Record], name: str) -> list[Any]:
    return [comparable(v[0]) if (v := field_values(r, name)) else None for r in records]


def _group_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    return comparable(value) if value is not None else None


def _grouped(records: Sequence[Record], group: str, total: str) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for record in records:
        if group == "":
            key: Any = None  # one group
        elif group.startswith("day:"):
            when = record.fields.get(group[4:])
            key = when.date() if isinstance(when, datetime) else None
        elif group.startswith("ref:"):
            key = _group_key(record.refs.get(group[4:]))
        else:
            key = _group_key(record.fields.get(group))
        out[key][0] += 1
        money = record.fields.get(total) if total else None
        if isinstance(money, Money):
            out[key][1] += money.amount
    return dict(out)
