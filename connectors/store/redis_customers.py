"""Customers on Redis: the packed record, identity buckets and the audience index, the
profile and the stop-list.

A customer is two strings under one hash tag: the packed record and the profile, whose
first 4 bytes are a write version. Profiles change by optimistic compare-and-set in a
Lua script, so ingest from several replicas never loses an update. Customer writes,
which also move identity and audience index entries, use WATCH/MULTI.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from connectors.store import keys
from connectors.store.base import ProfileUpdate
from connectors.store.records import identities_of, index_terms_of, pack_record, unpack_record
from connectors.store.redis_client import as_bytes, as_text
from connectors.store.redis_index import TermIndex
from core.errors import Conflict, StoreUnavailable

# Write each profile only if its version (first 4 bytes) is still the one we read;
# return the positions of those that raced, to be folded again from what the other
# writer left.
_CAS_MANY = """
local raced = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if (current and string.sub(current, 1, 4) or '') == ARGV[2 * i - 1] then
    redis.call('SET', key, ARGV[2 * i])
  else
    raced[#raced + 1] = i
  end
end
return raced
"""
MAX_RACES = 20


class RedisCustomers:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._cas_many = client.register_script(_CAS_MANY)
        self._index = TermIndex(client)

    async def put_customer(
        self, customer_id: str, record: bytes, identities: Sequence[tuple[str, str]]
    ) -> bool:
        key = keys.record(customer_id)
        wanted = {keys.identity_bucket(kind, value) for kind, value in identities}
        buckets = {bucket for bucket, _ in wanted}
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                for _ in range(MAX_RACES):
                    try:
                        await pipe.watch(key, *buckets)
                        old = stored_record(await pipe.get(key))
                        for bucket, field in wanted:
                            owner = as_text(await pipe.hget(bucket, field))
                            if owner is not None and owner != customer_id:
                                kind = field.split(":", 1)[0]
                                raise Conflict(
                                    f"the {kind} identity already belongs to another customer"
                                )
                        stale = {keys.identity_bucket(k, v) for k, v in identities_of(old)}
                        old_terms, new_terms = index_terms_of(old), index_terms_of(record)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        for bucket, field in stale - wanted:
                            pipe.hdel(bucket, field)
                        for bucket, field in wanted:
                            pipe.hset(bucket, field, customer_id)
                        for term in old_terms - new_terms:
                            await self._index.remove(pipe, term, [customer_id])
                        for term in new_terms - old_terms:
                            await self._index.add(pipe, term, [customer_id])
                        pipe.set(key, pack_record(record))
                        await pipe.execute()
                        return old is None
                    except WatchError:
                        continue
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        raise StoreUnavailable("customer write kept racing with other writers; try again")

    async def get_customer(self, customer_id: str) -> bytes | None:
        try:
            raw = stored_record(await self._r.get(keys.record(customer_id)))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return raw

    async def audience(self, dimensions: Sequence[Sequence[str]]) -> set[str]:
        if not dimensions or any(not terms for terms in dimensions):
            return set()
        try:
            return await self._index.query(dimensions)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis audience query failed: {exc}") from exc

    async def get_customers(self, customer_ids: Sequence[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        try:
            for start in range(0, len(customer_ids), 1000):
                chunk = customer_ids[start : start + 1000]
                if chunk:
                    out += [
                        stored_record(r)
                        for r in await self._r.mget([keys.record(c) for c in chunk])
                    ]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return out

    async def find_customer(self, kind: str, value: str) -> str | None:
        bucket, field = keys.identity_bucket(kind, value)
        try:
            raw = await self._r.hget(bucket, field)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return as_text(raw)

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        pattern = keys.record("*")
        try:
            position, found = await self._r.scan(int(cursor or 0), match=pattern, count=limit)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis scan failed: {exc}") from exc
        start, end = len(keys.customer_tag("")) - 1, -len(":r") - 1
        ids = [str(as_text(k))[start:end] for k in found]
        return ids, ("" if int(position) == 0 else str(position))

    async def get_profile(self, customer_id: str) -> tuple[bytes | None, bytes | None]:
        try:
            record, profile = await self._r.mget(
                [keys.record(customer_id), keys.profile(customer_id)]
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        blob = as_bytes(profile)
        return stored_record(record), blob[4:] if blob else None

    async def update_profiles(self, customer_ids: Sequence[str], update: ProfileUpdate) -> int:
        # One MGET reads every profile of the batch and one script call writes them back:
        # a batch touches hundreds of customers, and a round trip each would cost more
        # than the fold itself. (On Redis Cluster both would run per hash slot.)
        pending = list(dict.fromkeys(customer_ids))
        total = 0
        try:
            for _ in range(MAX_RACES):
                names = [keys.profile(c) for c in pending]
                current = await self._r.mget(names)
                args: list[bytes] = []
                counts: list[int] = []
                for customer_id, stored in zip(pending, current, strict=True):
                    stored = as_bytes(stored)
                    new_blob, count = update(customer_id, stored[4:] if stored else None)
                    counts.append(count)
                    version = int.from_bytes(stored[:4], "little") if stored else 0
                    next_version = ((version + 1) & 0xFFFFFFFF).to_bytes(4, "little")
                    args += [stored[:4] if stored else b"", next_version + new_blob]
                raced_at: list[int] = await self._cas_many(keys=names, args=args)
                raced = {i - 1 for i in raced_at}  # Lua counts from 1
                total += sum(n for i, n in enumerate(counts) if i not in raced)
                if not raced:
                    return total
                pending = [pending[i] for i in sorted(raced)]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis ingest failed: {exc}") from exc
        raise StoreUnavailable(f"{len(pending)} profiles kept racing with other writers")

    async def set_stop(self, customer_id: str, channel: str, stopped: bool, now: float) -> None:
        try:
            if stopped:
                await self._r.hsetnx(keys.stops(customer_id), channel, str(now))
            else:
                await self._r.hdel(keys.stops(customer_id), channel)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def stops(self, customer_id: str) -> set[str]:
        try:
            channels = await self._r.hkeys(keys.stops(customer_id))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return {str(as_text(c)) for c in channels}

    async def stops_many(self, customer_ids: Sequence[str]) -> list[set[str]]:
        out: list[set[str]] = []
        try:
            for start in range(0, len(customer_ids), 1000):
                async with self._r.pipeline(transaction=False) as pipe:
                    for customer_id in customer_ids[start : start + 1000]:
                        pipe.hkeys(keys.stops(customer_id))
                    replies = await pipe.execute()
                out += [{str(as_text(c)) for c in reply} for reply in replies]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return out


def stored_record(raw: bytes | str | None) -> bytes | None:
    """The record's JSON from what Redis holds (packed)."""
    stored = as_bytes(raw)
    return unpack_record(stored) if stored is not None else None
