"""Contract queries beyond the five stories, over HTTP against the demo's sources."""

from __future__ import annotations

from tests.stories.conftest import LiveDemo, post


def test_customers_by_name_ignores_case_and_accents(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ customers(name: "zoe hart") { id name sourceRecords { source } } }')
    assert body.get("errors") is None
    (zoe,) = body["data"]["customers"]
    assert zoe["name"] == "Zoë Hart"
    assert {r["source"] for r in zoe["sourceRecords"]} == {"pos", "crm"}


def test_household_phone_returns_separate_people(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ customers(phone: "020 7946 0777") { name sourceRecords { source localId } } }')
    assert body.get("errors") is None
    names = sorted(c["name"] for c in body["data"]["customers"])
    assert len(names) == 3 and all("Wilson" in n for n in names)


def test_every_argument_must_match(demo: LiveDemo) -> None:
    query = '{ customers(email: "ann.lee@example.com", loyaltyNumber: "6340 0002 0202") { id } }'
    assert post(demo.handle.url, query)["data"]["customers"] == []


def test_purchases_page_by_keyset_without_gaps_or_repeats(demo: LiveDemo) -> None:
    query = """query($after: String) { purchases(first: 4, after: $after) {
        nodes { id placedAt } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    for _ in range(20):
        page = post(demo.handle.url, query, {"after": after})["data"]["purchases"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    everything = post(demo.handle.url, "{ purchases(first: 100) { nodes { id } } }")["data"]["purchases"]["nodes"]
    assert len(seen) == len(set(seen))
    assert seen == [n["id"] for n in everything]


def test_purchases_of_one_customer_across_sources(demo: LiveDemo) -> None:
    query = '{ purchases(filter: {customerId: "crm:C-1002"}) { nodes { id channel } } }'
    body = post(demo.handle.url, query)
    assert body.get("errors") is None
    channels = sorted(n["channel"] for n in body["data"]["purchases"]["nodes"])
    assert channels == ["STORE", "WEB", "WEB"]


def test_bad_filter_values_name_the_argument(demo: LiveDemo) -> None:
    body = post(demo.handle.url, '{ a: purchases(filter: {cardLast4: "44x7"}) { nodes { id } } '
                                 'b: purchases(first: 1000) { nodes { id } } '
                                 'c: purchases(after: "garbage") { nodes { id } } }')
    arguments = {e["path"][0]: e["extensions"]["argument"] for e in body["errors"]}
    assert arguments == {"a": "filter.cardLast4", "b": "first", "c": "after"}


def test_get_requests_answer_queries(demo: LiveDemo) -> None:
    import urllib.parse
    import urllib.request

    import orjson

    url = demo.handle.url + "?" + urllib.parse.urlencode({"query": '{ customer(id: "crm:C-1001") { name } }'})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert orjson.loads(response.read())["data"]["customer"]["name"] == "Ann Lee"


def test_health_and_readiness(demo: LiveDemo) -> None:
    import urllib.request

    import orjson

    base = demo.handle.url.removesuffix("/graphql")
    with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
        assert orjson.loads(response.read()) == {"status": "ok"}
    with urllib.request.urlopen(base + "/readyz", timeout=10) as response:
        ready = orjson.loads(response.read())
    assert ready["status"] == "ready"
    assert set(ready["sources"]) == {"shop", "pos", "delivery", "crm", "warranty", "loyalty"}


def test_customer_list_pages_through_every_unified_customer_once(demo: LiveDemo) -> None:
    query = """query($after: String) { customerList(first: 7, after: $after) {
        totalCount truncated nodes { id sourceRecords { source localId } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    refs: list[str] = []
    after = None
    total = None
    for _ in range(20):
        page = post(demo.handle.url, query, {"after": after})["data"]["customerList"]
        total = page["totalCount"]
        seen += [n["id"] for n in page["nodes"]]
        refs += [f"{r['source']}:{r['localId']}" for n in page["nodes"] for r in n["sourceRecords"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == total
    assert len(refs) == len(set(refs))  # no source record belongs to two customers
    assert "shop:1" in seen and page["truncated"] is False
