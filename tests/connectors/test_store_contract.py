"""One contract, every store: SQLite and a real Redis server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from connectors.store import Store, open_store
from core.apikeys import new_key
from core.errors import Conflict
from tests.cluster import raw_clients
from tests.conftest import any_store_url


# Every test here runs on SQLite, one Redis and a Redis Cluster (.ci/redis-cluster).
@pytest.fixture(params=["sqlite", "redis", "cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return any_store_url(request, tmp_path)


PHONE = ("phone", "+79161234567")
EMAIL = ("email", "ivan@example.ru")


def record(customer_id: str, *identities: tuple[str, str]) -> bytes:
    return orjson.dumps(
        {"id": customer_id, "identities": [{"kind": k, "value": v} for k, v in identities]}
    )


async def test_put_get_find(store: Store) -> None:
    assert await store.put_customer("c1", record("c1", PHONE, EMAIL), [PHONE, EMAIL]) is True
    assert await store.put_customer("c1", record("c1", PHONE, EMAIL), [PHONE, EMAIL]) is False
    assert orjson.loads(await store.get_customer("c1") or b"")["id"] == "c1"
    assert await store.find_customer(*PHONE) == "c1"
    assert await store.find_customer(*EMAIL) == "c1"
    assert await store.find_customer("phone", "+79160000000") is None
    assert await store.get_customer("nobody") is None
    many = await store.get_customers(["nobody", "c1"])
    assert many[0] is None and orjson.loads(many[1] or b"")["id"] == "c1"


async def test_identity_conflict_changes_nothing(store: Store) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    with pytest.raises(Conflict):
        await store.put_customer("c2", record("c2", EMAIL, PHONE), [EMAIL, PHONE])
    assert await store.get_customer("c2") is None
    assert await store.find_customer(*EMAIL) is None
    assert await store.find_customer(*PHONE) == "c1"


async def test_replacing_a_record_moves_its_identities(store: Store) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    await store.put_customer("c1", record("c1", EMAIL), [EMAIL])
    assert await store.find_customer(*PHONE) is None
    assert await store.find_customer(*EMAIL) == "c1"
    await store.put_customer("c2", record("c2", PHONE), [PHONE])  # the phone is free again
    assert await store.find_customer(*PHONE) == "c2"


async def test_profiles_update_atomically_per_customer(store: Store) -> None:
    def bump(customer_id: str, blob: bytes | None) -> tuple[bytes, int]:
        n = int(blob or b"0")
        return str(n + 1).encode(), 1

    # Concurrent writers on the same customers: none of the increments may be lost.
    results = await asyncio.gather(*(store.update_profiles(["a", "b"], bump) for _ in range(20)))
    assert sum(results) == 40
    for customer_id in ("a", "b"):
        _, blob = await store.get_profile(customer_id)
        assert blob == b"20"


async def test_erase_removes_every_trace(store: Store, store_url: str) -> None:
    await store.put_customer("c1", record("c1", PHONE, EMAIL), [PHONE, EMAIL])
    await store.update_profiles(["c1"], lambda cid, blob: (b"state", 1))
    await store.put_customer("c2", record("c2"), [])
    assert await store.erase_customer("c1") is True
    assert await store.get_profile("c1") == (None, None)
    assert await store.find_customer(*PHONE) is None
    assert await store.find_customer(*EMAIL) is None
    assert await store.erase_customer("c1") is False
    assert await store.get_customer("c2") is not None
    await assert_no_trace(store_url, "c1", ["+79161234567", "ivan@example.ru"])


async def assert_no_trace(store_url: str, customer_id: str, values: list[str]) -> None:
    """Look in the raw store, past our own API, for anything naming the customer:
    a key or value equal to its id, its hash tag, or one of its identities."""
    own_tag = b"{c:" + customer_id.encode() + b"}"
    pii = [v.encode() for v in values]

    def check(where: object, blob: bytes) -> None:
        assert blob != customer_id.encode(), where
        assert own_tag not in blob, where
        assert b'"' + customer_id.encode() + b'"' not in blob, where
        for value in pii:
            assert value not in blob, where

    if store_url.startswith("redis"):
        for client in raw_clients(store_url):
            for key in client.scan_iter(count=1000):
                check(key, key)
                kind = client.type(key)
                if kind == b"hash":
                    for field, value in client.hgetall(key).items():
                        check(key, field)
                        check(key, value)
                elif kind == b"string":
                    check(key, client.get(key) or b"")
                elif kind == b"set":
                    for member in client.smembers(key):
                        check(key, member)
                elif kind == b"zset":
                    for member in client.zrange(key, 0, -1):
                        check(key, member)
                elif kind == b"stream":
                    for _, fields in client.xrange(key):
                        for value in fields.values():
                            check(key, value)
                else:
                    assert kind == b"none", f"add a check for {kind!r} keys"
    else:
        import sqlite3

        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                for cell in row:
                    check((table, row), cell if isinstance(cell, bytes) else str(cell).encode())
        db.close()


async def test_api_keys(store: Store) -> None:
    secret, key = new_key("ivr", frozenset({"ivr"}), 1.0)
    await store.put_api_key(key)
    assert await store.get_api_key(key.key_hash) == key
    assert [k.id for k in await store.list_api_keys()] == [key.id]
    assert secret not in orjson.dumps([k.key_hash for k in await store.list_api_keys()]).decode()
    assert await store.revoke_api_key(key.id) is True
    assert await store.get_api_key(key.key_hash) is None
    assert await store.revoke_api_key(key.id) is False


async def test_data_survives_reopening(store_url: str) -> None:
    first = open_store(store_url)
    await first.put_customer("c1", record("c1", PHONE), [PHONE])
    await first.update_profiles(["c1"], lambda cid, blob: (b"kept", 1))
    await first.close()
    second = open_store(store_url)
    try:
        assert await second.find_customer(*PHONE) == "c1"
        assert (await second.get_profile("c1"))[1] == b"kept"
    finally:
        await second.close()


def located(customer_id: str, region: str | None, services: list[str], nodes: list[str]) -> bytes:
    return orjson.dumps(
        {"id": customer_id, "region": region, "services": services, "network_nodes": nodes}
    )


async def test_audience_follows_the_record(store: Store) -> None:
    await store.put_customer("a", located("a", "RU-MOW", ["internet", "tv"], ["N1"]), [])
    await store.put_customer("b", located("b", "RU-MOW", ["mobile"], ["N2"]), [])
    await store.put_customer("c", located("c", "RU-SPE", ["internet"], ["N1"]), [])
    assert await store.audience([["r:RU-MOW"]]) == {"a", "b"}
    assert await store.audience([["r:RU-MOW", "r:RU-SPE"], ["s:internet"]]) == {"a", "c"}
    assert await store.audience([["r:RU-MOW"], ["s:internet", "s:mobile"], ["n:N2"]]) == {"b"}
    assert await store.audience([["r:RU-NVS"]]) == set()
    assert await store.audience([]) == set()
    # Moving a customer moves it in the index; erasing removes it.
    await store.put_customer("a", located("a", "RU-SPE", ["internet"], []), [])
    assert await store.audience([["r:RU-MOW"]]) == {"b"}
    assert await store.audience([["r:RU-SPE"], ["s:internet"]]) == {"a", "c"}
    await store.erase_customer("c")
    assert await store.audience([["s:internet"]]) == {"a"}
    await assert_no_trace_of_index(store, "c")


async def assert_no_trace_of_index(store: Store, customer_id: str) -> None:
    for term in ("r:RU-SPE", "s:internet", "n:N1"):
        assert customer_id not in await store.audience([[term]])


async def test_stop_list(store: Store) -> None:
    assert await store.stops("c1") == set()
    await store.set_stop("c1", "sms", True, 1.0)
    await store.set_stop("c1", "sms", True, 2.0)
    await store.set_stop("c1", "telegram", True, 3.0)
    assert await store.stops("c1") == {"sms", "telegram"}
    await store.set_stop("c1", "sms", False, 4.0)
    assert await store.stops("c1") == {"telegram"}
    assert await store.stops("c2") == set()
    assert await store.stops_many(["c2", "c1", "c1"]) == [set(), {"telegram"}, {"telegram"}]


async def test_an_incident_is_created_once_even_when_raced(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_incident("I9", f'{{"try": {i}}}'.encode()) for i in range(8))
    )
    assert results.count(True) == 1
    winner = results.index(True)
    assert await store.get_incident("I9") == f'{{"try": {winner}}}'.encode()
    assert await store.open_incidents() == [f'{{"try": {winner}}}'.encode()]


async def test_incidents_and_their_ledgers(store: Store) -> None:
    await store.put_incident("I1", b'{"id": "I1"}', True)
    await store.put_incident("I2", b'{"id": "I2"}', True)
    assert await store.open_incidents() == [b'{"id": "I1"}', b'{"id": "I2"}']
    await store.put_incident("I1", b'{"id": "I1", "v": 2}', False)
    assert await store.open_incidents() == [b'{"id": "I2"}']
    assert await store.get_incident("I1") == b'{"id": "I1", "v": 2}'
    assert await store.get_incident("nope") is None
    await store.add_to_audience("I2", ["a", "b"])
    await store.add_to_audience("I2", ["b", "c"])
    assert await store.audience_of("I2") == {"a", "b", "c"}
    await store.count_incident("I2", "calls_before")
    await store.count_incident("I2", "calls_before", 2)
    await store.count_incident("I2", "calls_after")
    assert await store.incident_counts("I2") == {"calls_before": 3, "calls_after": 1}


async def test_erase_reaches_stop_list_and_ledgers(store: Store, store_url: str) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    await store.set_stop("c1", "sms", True, 1.0)
    await store.put_incident("I1", b'{"id": "I1"}', True)
    await store.add_to_audience("I1", ["c1", "c2"])
    await store.erase_customer("c1")
    assert await store.stops("c1") == set()
    assert await store.audience_of("I1") == {"c2"}
    await assert_no_trace(store_url, "c1", ["+79161234567"])


async def test_erase_takes_the_customer_out_of_incident_scopes(store: Store) -> None:
    named = {"id": "I1", "scope": {"customer_ids": ["c1", "c2"], "regions": ["RU-MOW"]}}
    await store.put_incident("I1", orjson.dumps(named), True)
    await store.put_incident("I2", b'{"id": "I2", "scope": {"customer_ids": ["c11"]}}', True)
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    await store.erase_customer("c1")
    scope = orjson.loads(await store.get_incident("I1") or b"")["scope"]
    assert scope == {"customer_ids": ["c2"], "regions": ["RU-MOW"]}
    assert await store.get_incident("I2") == b'{"id": "I2", "scope": {"customer_ids": ["c11"]}}'
    assert len(await store.open_incidents()) == 2


async def test_calls_and_examples_and_their_erasure(store: Store, store_url: str) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    await store.put_call("call-1", "c1", b'{"call": 1}')
    await store.put_call("call-anon", None, b'{"call": 2}')
    assert await store.get_call("call-1") == b'{"call": 1}'
    assert await store.get_call("nope") is None
    await store.put_example("c1", "call-1", b'{"reason": "other"}')
    await store.put_example("c1", "call-1", b'{"reason": "outage"}')  # the latest wins
    await store.put_example("c2", "call-9", b'{"reason": "other", "c": 2}')
    assert sorted(await store.examples()) == [
        b'{"reason": "other", "c": 2}',
        b'{"reason": "outage"}',
    ]
    await store.erase_customer("c1")
    assert await store.get_call("call-1") is None
    assert await store.get_call("call-anon") == b'{"call": 2}'
    assert await store.examples() == [b'{"reason": "other", "c": 2}']
    await assert_no_trace(store_url, "c1", ["+79161234567"])


async def test_marks_and_docs_and_their_erasure(store: Store, store_url: str) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    assert await store.bump_marks("c1", {"m:2026-11-23": 1, "x:cart": 5}) == {
        "m:2026-11-23": 1.0,
        "x:cart": 5.0,
    }
    assert await store.bump_marks("c1", {"m:2026-11-23": 1}) == {"m:2026-11-23": 2.0}
    await store.set_marks("c1", {"x:cart": None, "h:cart": 1.0})
    assert await store.marks("c1") == {"m:2026-11-23": 2.0, "h:cart": 1.0}
    assert await store.marks("c2") == {}
    await store.put_doc("approvals", "a2", "c1", b'{"n": 2, "phone": "+79161234567"}')
    await store.put_doc("approvals", "a1", "c2", b'{"n": 1}')
    await store.put_doc("approvals", "a1", "c2", b'{"n": 1, "v": 2}')  # replaced
    await store.put_doc("audit", "0001", None, b'{"who": "m"}')
    assert await store.get_doc("approvals", "a1") == b'{"n": 1, "v": 2}'
    assert await store.get_doc("approvals", "nope") is None
    assert await store.docs("approvals") == [
        b'{"n": 1, "v": 2}',
        b'{"n": 2, "phone": "+79161234567"}',
    ]
    await store.erase_customer("c1")
    assert await store.marks("c1") == {}
    assert await store.docs("approvals") == [b'{"n": 1, "v": 2}']
    assert await store.docs("audit") == [b'{"who": "m"}']
    await assert_no_trace(store_url, "c1", ["+79161234567"])


async def test_swap_doc_lets_exactly_one_writer_win(store: Store) -> None:
    assert await store.swap_doc("oauth", "amo", b"x", b"v1") is False  # absent, not b"x"
    assert await store.get_doc("oauth", "amo") is None
    assert await store.swap_doc("oauth", "amo", None, b"") is True  # an empty value...
    assert await store.swap_doc("oauth", "amo", None, b"v1") is False  # ...is not absent
    assert await store.swap_doc("oauth", "amo", b"", b"v1") is True
    # Ten workers race to replace v1: one wins, the rest see they lost.
    won = await asyncio.gather(
        *(store.swap_doc("oauth", "amo", b"v1", f"v2-{i}".encode()) for i in range(10))
    )
    assert sum(won) == 1
    assert await store.get_doc("oauth", "amo") == f"v2-{won.index(True)}".encode()
    assert await store.docs("oauth") == [f"v2-{won.index(True)}".encode()]


async def test_a_swapped_document_keeps_its_owner_for_erasure(store: Store, store_url: str) -> None:
    await store.put_customer("c1", record("c1", PHONE), [PHONE])
    await store.put_doc("approvals", "a1", "c1", b'{"status": "pending"}')
    assert await store.swap_doc("approvals", "a1", b'{"status": "pending"}', b'{"to": "c1"}')
    await store.erase_customer("c1")
    assert await store.get_doc("approvals", "a1") is None
    await assert_no_trace(store_url, "c1", ["+79161234567"])


async def test_customer_ids_page_through_everyone(store: Store) -> None:
    everyone = {f"c{i:03d}" for i in range(130)}
    for customer_id in everyone:
        await store.put_customer(customer_id, record(customer_id), [])
    await store.update_profiles(["only-a-profile"], lambda _id, blob: (b"x", 0))
    seen: list[str] = []
    cursor = ""
    while True:
        ids, cursor = await store.customer_ids(cursor, 50)
        seen += ids
        if not cursor:
            break
    assert set(seen) == everyone  # a profile without a record is no customer
