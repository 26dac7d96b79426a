"""The linear-hashed audience index against a real Redis: splits keep every member
findable, buckets stay small listpacks, removal and queries agree with plain sets."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio as aioredis

from connectors.store import keys
from connectors.store.redis_index import _LIB, LOAD, TermIndex, bucket_of, member_hash


@pytest.fixture
async def index(redis_url: str) -> AsyncIterator[TermIndex]:
    client = aioredis.Redis.from_url(redis_url)
    yield TermIndex(client)
    await client.aclose()


def test_python_and_lua_hash_alike(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    samples = ["", "c1", "c0000001", "клиент-42", "x" * 300, "C000294:internet"]
    lua = (
        _LIB + "local out = {} for i, s in ipairs(ARGV) do out[i] = tostring(crc(s)) end return out"
    )
    from_lua = [int(float(v)) for v in client.eval(lua, 0, *samples)]
    assert from_lua == [member_hash(s) for s in samples]


async def add(index: TermIndex, term: str, members: list[str]) -> None:
    async with index._r.pipeline(transaction=False) as pipe:
        for start in range(0, len(members), 500):
            await index.add(pipe, term, members[start : start + 500])
        await pipe.execute()


async def remove(index: TermIndex, term: str, members: list[str]) -> None:
    async with index._r.pipeline(transaction=False) as pipe:
        await index.remove(pipe, term, members)
        await pipe.execute()


async def test_splits_keep_every_member_and_buckets_small(index: TermIndex, redis_url: str) -> None:
    rng = random.Random(5)
    dense = [f"c{i:07d}" for i in range(10_000)]
    sparse = rng.sample(dense, 37)
    await add(index, "s:internet", dense)
    await add(index, "s:internet", dense[:100])  # again: nothing changes
    await add(index, "n:MOW-N012", sparse)
    shape = await index.shape(["s:internet", "n:MOW-N012", "r:nowhere"])
    level, split, count = shape["s:internet"]
    assert count == 10_000 and "r:nowhere" not in shape
    assert (1 << level) + split >= 10_000 // LOAD
    assert shape["n:MOW-N012"] == (0, 0, 37)  # a small term stays in one bucket
    assert await index.members(["s:internet"], shape) == set(dense)

    client = redis.Redis.from_url(redis_url)
    prefix = keys.index_bucket_prefix("s:internet")
    for b in range((1 << level) + split):
        assert client.object("encoding", f"{prefix}{b}") == b"listpack", b
        assert client.hlen(f"{prefix}{b}") < 128
    for member in rng.sample(dense, 200):  # each member in the bucket the formula names
        assert client.hexists(f"{prefix}{bucket_of(member, level, split)}", member)


async def test_queries_and_removal_agree_with_sets(index: TermIndex) -> None:
    rng = random.Random(9)
    people = {f"c{i:06d}": rng.choice(["r:A", "r:B", "r:C"]) for i in range(6000)}
    internet = {c for c in people if rng.random() < 0.7}
    for region in ("r:A", "r:B", "r:C"):
        await add(index, region, [c for c, r in people.items() if r == region])
    await add(index, "s:internet", sorted(internet))
    expected = {c for c, r in people.items() if r in ("r:A", "r:B") and c in internet}
    assert await index.query([["r:A", "r:B"], ["s:internet"]]) == expected
    assert await index.query([["r:A"], ["s:nothing"]]) == set()

    gone = sorted(internet)[::2]
    await remove(index, "s:internet", gone)
    shape = await index.shape(["s:internet"])
    assert shape["s:internet"][2] == len(internet) - len(gone)
    assert await index.members(["s:internet"], shape) == internet - set(gone)
    assert await index.query([["r:A", "r:B"], ["s:internet"]]) == expected - set(gone)
