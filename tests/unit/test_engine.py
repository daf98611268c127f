"""The engine against in-memory connectors: batching, hops, relations, partial failure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from federation.config.models import Config, GatewaySettings, SourceSettings
from federation.contract import Capabilities, Condition, Connector, EntityCapabilities, SearchRequest
from federation.engine.gateway import Gateway
from federation.engine.loader import BatchLoader, index_records
from federation.engine.request import Request
from federation.errors import SourceUnavailable
from federation.model import builtin_model
from federation.records import Record

MODEL = builtin_model()


class Memory(Connector):
    """A connector over a list of records that counts its calls and can be told to fail."""

    kind = "memory"

    def __init__(self, name: str, records: list[Record], *, fail: bool = False, delay: float = 0.0) -> None:
        self.name, self.records, self.fail, self.delay = name, records, fail, delay
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        self.calls.append((entity, by, tuple(values)))
        await asyncio.sleep(self.delay)
        if self.fail:
            raise SourceUnavailable(self.name, "connection refused")
        mine = [r for r in self.records if r.entity == entity]
        found = index_records(mine, by, values)
        return [r for rs in found.values() for r in rs]

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        self.calls.append((entity, "search", ()))
        return [r for r in self.records if r.entity == entity]

    def capabilities(self) -> Capabilities:
        entities: dict[str, set[str]] = {}
        for r in self.records:
            names = entities.setdefault(r.entity, {"id"})
            names |= {f"key:{k}" for k in r.keys} | {f"ref:{k}" for k in r.refs}
        return Capabilities({e: EntityCapabilities(lookups=frozenset(n)) for e, n in entities.items()})


def gateway(*connectors: Memory, timeout: float = 1.0, max_hops: int = 3) -> Gateway:
    config = Config(file=Path("test.yaml"), gateway=GatewaySettings(max_hops=max_hops), model=MODEL,
                    sources={c.name: SourceSettings(type="memory", timeout=timeout) for c in connectors})
    return Gateway(config, {c.name: c for c in connectors})


def cust(source: str, local_id: str, **keys: str) -> Record:
    return Record("Customer", source, local_id, fields={"name": f"N{local_id}"},
                  keys={k: (v,) for k, v in keys.items()})


def purchase(source: str, local_id: str, customer: str, **fields: Any) -> Record:
    return Record("Purchase", source, local_id, fields=fields, refs={"customer": customer},
                  keys={"orderNumber": (f"O{local_id}",)})


async def test_identity_follows_keys_across_hops() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com", loyaltyNumber="L1")])
    pos = Memory("pos", [cust("pos", "P1", loyaltyNumber="L1", phone="+442079460958")])
    (unit,) = await Request(gateway(shop, crm, pos)).find("Customer", "email", ["a@x.com"])
    assert [str(r.ref) for r in unit.records] == ["shop:1", "crm:C1", "pos:P1"]


async def test_hop_limit_is_respected() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com", loyaltyNumber="L1")])
    pos = Memory("pos", [cust("pos", "P1", loyaltyNumber="L1")])
    (unit,) = await Request(gateway(shop, crm, pos, max_hops=0)).find("Customer", "email", ["a@x.com"])
    assert {r.source for r in unit.records} == {"shop", "crm"}


async def test_relations_of_many_parents_cost_one_call_per_source() -> None:
    customers = [cust("shop", str(i), email=f"c{i}@x.com") for i in range(100)]
    purchases = [purchase("shop", f"p{i}", str(i)) for i in range(100)]
    shop = Memory("shop", customers + purchases)
    request = Request(gateway(shop))
    units = await request.search("Customer", [], [], None)
    shop.calls.clear()
    results = await asyncio.gather(*(request.related(u, "purchases") for u in units))
    assert all(len(r) == 1 for r in results)
    by_ref = [c for c in shop.calls if c[1] == "ref:customer"]
    assert len(by_ref) == 1 and len(by_ref[0][2]) == 100


async def test_failed_source_is_reported_and_the_rest_answers() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    crm = Memory("crm", [cust("crm", "C1", email="a@x.com")], fail=True)
    request = Request(gateway(shop, crm))
    (unit,) = await request.find("Customer", "email", ["a@x.com"])
    assert [r.source for r in unit.records] == ["shop"]
    assert [e.code for e in request.failures()] == ["SOURCE_UNAVAILABLE"]


async def test_hanging_source_times_out_within_its_budget() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    slow = Memory("slow", [cust("slow", "S", email="a@x.com")], delay=5)
    request = Request(gateway(shop, slow, timeout=0.2))
    started = asyncio.get_running_loop().time()
    (unit,) = await request.find("Customer", "email", ["a@x.com"])
    assert asyncio.get_running_loop().time() - started < 1.0
    assert [e.code for e in request.failures()] == ["SOURCE_TIMEOUT"]
    assert unit.records[0].source == "shop"


async def test_search_rechecks_every_condition_in_memory() -> None:
    shop = Memory("shop", [purchase("shop", "1", "c", till="A"), purchase("shop", "2", "c", till="B")])
    units = await Request(gateway(shop)).search("Purchase", [Condition("till", "eq", "b")], [], None)
    assert [u.id for u in units] == ["shop:2"]


async def test_unknown_record_gives_none() -> None:
    from federation.records import SourceRef

    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    assert await Request(gateway(shop)).get("Customer", SourceRef("shop", "404")) is None


@pytest.mark.parametrize("by", ["id", "ref:customer", "key:orderNumber"])
def test_index_records_puts_each_record_under_its_value(by: str) -> None:
    records = [purchase("s", "1", "c1"), purchase("s", "2", "c2")]
    values = {"id": ["1", "2"], "ref:customer": ["c1", "c2"], "key:orderNumber": ["O1", "O2"]}[by]
    found = index_records(records, by, [*values, "missing"])
    assert [r.local_id for r in found[values[0]]] == ["1"]
    assert found["missing"] == []


async def test_related_many_answers_what_related_answers_per_parent() -> None:
    customers = [cust("shop", str(i), email=f"c{i}@x.com") for i in range(20)]
    purchases = [purchase("shop", f"p{i}", str(i % 7)) for i in range(30)]
    shop = Memory("shop", customers + purchases)
    one_by_one = Request(gateway(shop))
    parents = await one_by_one.search("Customer", [], [], None)
    expected = [[u.id for u in await one_by_one.related(p, "purchases")] for p in parents]
    batched = Request(gateway(shop))
    level = await batched.search("Customer", [], [], None)
    shop.calls.clear()
    got = [[u.id for u in units] for units in await batched.related_many(level, "purchases")]
    assert got == expected
    # one batched call for the level's relation, one for the identity hop over the purchases found
    assert [c[1] for c in shop.calls] == ["ref:customer", "key:orderNumber"]


async def test_an_unexpected_connector_error_is_logged_by_incident_without_its_message(
        caplog: pytest.LogCaptureFixture) -> None:
    class Leaky(Memory):
        async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
            raise RuntimeError("SELECT * FROM users WHERE password = 'hunter2' -- postgresql://u:pw@db")

    shop = Memory("shop", [cust("shop", "1", email="a@x.com")])
    request = Request(gateway(shop, Leaky("crm", [cust("crm", "C", email="a@x.com")])))
    (unit,) = await request.find("Customer", "email", ["a@x.com"])
    assert [r.source for r in unit.records] == ["shop"]
    (failure,) = request.failures()
    assert failure.code == "SOURCE_ERROR" and "incident" in str(failure) and "hunter2" not in str(failure)
    incident = str(failure).split("incident ")[1].rstrip(")")
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert incident in logged and "RuntimeError" in logged
    assert "hunter2" not in logged and "SELECT" not in logged and "pw@db" not in logged


class Combining(Memory):
    """A source that answers several lookups of one entity in one call (like the sql connector)."""

    def __init__(self, name: str, records: list[Record], **kwargs: Any) -> None:
        super().__init__(name, records, **kwargs)
        self.many: list[dict[str, list[str]]] = []

    async def lookup_many(self, entity: str, wanted: Any) -> Sequence[Record]:
        self.many.append({by: list(values) for by, values in wanted.items()})
        return await Connector.lookup_many(self, entity, wanted)


async def test_lookups_of_one_tick_go_to_a_combining_source_as_one_call() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com", phone="+442079460958", loyaltyNumber="L1")])
    pos = Combining("pos", [cust("pos", "P1", phone="+442079460958"), cust("pos", "P2", loyaltyNumber="L1"),
                            cust("pos", "P3", email="a@x.com")])
    request = Request(gateway(shop, pos))
    (unit,) = await request.find("Customer", "email", ["a@x.com"])
    # pos:P1 shares only the phone, a shared key, under another name: found, not linked.
    assert {str(r.ref) for r in unit.records} == {"shop:1", "pos:P2", "pos:P3"}
    # The first hop asks pos by email alone; the second by phone and loyalty number, together.
    assert [sorted(call) for call in pos.many] == [["key:email"], ["key:loyaltyNumber", "key:phone"]]
    assert request.stats["pos"].calls == 2
    assert len(shop.calls) == 3  # a source without lookup_many: one call per lookup, as before


async def test_a_failed_combined_call_fails_every_lookup_in_it_once() -> None:
    shop = Memory("shop", [cust("shop", "1", email="a@x.com", phone="+442079460958", loyaltyNumber="L1")])
    pos = Combining("pos", [cust("pos", "P1", phone="+442079460958")], fail=True)
    request = Request(gateway(shop, pos))
    (unit,) = await request.find("Customer", "email", ["a@x.com"])
    assert {str(r.ref) for r in unit.records} == {"shop:1"}
    assert [e.code for e in request.stats["pos"].errors] == ["SOURCE_UNAVAILABLE"]


def case(source: str, local_id: str) -> Record:
    return Record("Case", source, local_id, fields={"subject": f"S{local_id}"})


async def test_records_nothing_can_link_are_their_own_units() -> None:
    crm = Memory("crm", [case("crm", "K1"), case("crm", "K2")])
    gw = gateway(crm)
    records = list(crm.records)
    first = await Request(gw).unify("Case", records)
    assert [u.id for u in first] == ["crm:K1", "crm:K2"]
    assert [u.records for u in first] == [(records[0],), (records[1],)]
    assert [u.values["subject"] for u in first] == ["SK1", "SK2"]


async def test_a_must_link_override_still_joins_records_of_an_entity_without_linking_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from federation.identity.overrides import Override, Overrides

    crm = Memory("crm", [case("crm", "K1")])
    desk = Memory("desk", [case("desk", "D9")])
    gw = gateway(crm, desk)
    joined = Overrides([Override("Case", "crm:K1", "desk:D9", "link", "same complaint", "agent",
                                 datetime(2026, 1, 1, tzinfo=UTC))])

    async def snapshot() -> Overrides:
        return joined

    monkeypatch.setattr(gw.overrides, "snapshot", snapshot)
    (unit,) = await Request(gw).unify("Case", [crm.records[0]])
    assert sorted(str(r.ref) for r in unit.records) == ["crm:K1", "desk:D9"]


async def test_a_cancelled_caller_leaves_a_shared_load_to_the_others() -> None:
    """graphql-core cancels the resolvers still running when a null propagates; the one load they
    shared with a resolver that goes on must still answer it (it got CancelledError, and the
    whole response was dropped: the connection closed with no answer)."""
    calls: list[list[str]] = []

    async def fetch(values: list[str]) -> list[Record]:
        calls.append(values)
        await asyncio.sleep(0.01)
        return [Record(entity="Customer", source="crm", local_id=v, fields={}) for v in values]

    loader = BatchLoader("id", fetch)
    cancelled = asyncio.ensure_future(asyncio.gather(loader.load("C-1"), loader.load("C-2")))
    going_on = asyncio.ensure_future(asyncio.gather(loader.load("C-1")))
    await asyncio.sleep(0.001)
    cancelled.cancel()
    (records,) = await going_on
    assert [r.local_id for r in records] == ["C-1"] and calls == [["C-1", "C-2"]]
    assert [r.local_id for r in await loader.load("C-2")] == ["C-2"]  # remembered for later callers too


async def test_a_cancelled_lookup_leaves_the_shared_batch_to_the_others() -> None:
    """`Fetcher.lookup` is one future per caller over the loaders' batches: cancelling it (a
    resolver graphql-core gave up on) cancels no batch another lookup waits for."""
    pos = Combining("pos", [cust("pos", "P1", email="a@x.com"), cust("pos", "P2", email="b@x.com")], delay=0.01)
    request = Request(gateway(pos))
    gone = request.fetcher.lookup("Customer", "key:email", ["a@x.com", "b@x.com"])
    staying = request.fetcher.lookup("Customer", "key:email", ["a@x.com"])
    await asyncio.sleep(0.001)
    gone.cancel()
    assert [r.local_id for r in await staying] == ["P1"]
    assert pos.many == [{"key:email": ["a@x.com", "b@x.com"]}]
    assert request.failures() == []
    # Remembered for the request: answered at once, with no call.
    assert [r.local_id for r in await request.fetcher.lookup("Customer", "key:email", ["b@x.com"])] == ["P2"]
    assert len(pos.many) == 1


async def test_a_record_counts_once_in_its_sources_records_however_the_lookups_met() -> None:
    """Lookups in one tick go to a combining source as one call, in two ticks as two, and which
    happens depends on when other sources answered: a record both lookups find is one record read
    either way, so `extensions.sources.*.records` answers the same question the same way."""
    records = [cust("pos", "P1", phone="+442079460958", loyaltyNumber="L1"), cust("pos", "P2", phone="+442079460958")]
    together = Request(gateway(Combining("pos", records)))
    await asyncio.gather(together.lookup("Customer", "key:phone", ["+442079460958"]),
                         together.lookup("Customer", "key:loyaltyNumber", ["L1"]))
    apart = Request(gateway(Combining("pos", records)))
    await apart.lookup("Customer", "key:phone", ["+442079460958"])
    await apart.lookup("Customer", "key:loyaltyNumber", ["L1"])
    await apart.lookup("Customer", "id", ["P1", "P2"])
    assert (together.stats["pos"].calls, apart.stats["pos"].calls) == (1, 3)
    assert together.stats["pos"].records == apart.stats["pos"].records == 2
    assert together.stats["pos"].as_json()["records"] == 2
