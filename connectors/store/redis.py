"""The production store: Redis, shared by many API replicas and workers.

A customer is two strings under one hash tag: the packed record and the profile, whose
first 4 bytes are a write version. Profiles change by optimistic compare-and-set in a
Lua script, so ingest from several replicas never loses an update. Customer writes,
which also move identity and audience index entries, use WATCH/MULTI.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from connectors.store import keys
from connectors.store.base import ProfileUpdate
from connectors.store.records import (
    dump_key,
    identities_of,
    index_terms_of,
    load_key,
    pack_record,
    unpack_record,
)
from connectors.store.redis_client import connect
from connectors.store.redis_index import TermIndex
from core.apikeys import ApiKey
from core.errors import Conflict, StoreUnavailable

log = logging.getLogger(__name__)

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

# Create an incident only if its id is new, and list it as open in the same step.
_CREATE_INCIDENT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[2])
  return 1
end
return 0
"""

# ARGV[2] is "" for "the field must be absent", else "=" + the value it must hold (so an
# empty value and an absent field differ).
_SWAP_FIELD = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local want = ARGV[2]
if (want == '' and current ~= false) or (want ~= '' and current ~= string.sub(want, 2)) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class RedisStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._cas_many = client.register_script(_CAS_MANY)
        self._create_incident = client.register_script(_CREATE_INCIDENT)
        self._swap_field = client.register_script(_SWAP_FIELD)
        self._index = TermIndex(client)

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float = 2.0) -> RedisStore:
        client = connect(url, socket_timeout)
        return cls(client)

    async def ping(self) -> None:
        try:
            await self._r.ping()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc

    async def close(self) -> None:
        await self._r.aclose()

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
                        old = _record(await pipe.get(key))
                        for bucket, field in wanted:
                            owner = _text(await pipe.hget(bucket, field))
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
            raw = _record(await self._r.get(keys.record(customer_id)))
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
                    out += [_record(r) for r in await self._r.mget([keys.record(c) for c in chunk])]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return out

    async def find_customer(self, kind: str, value: str) -> str | None:
        bucket, field = keys.identity_bucket(kind, value)
        try:
            raw = await self._r.hget(bucket, field)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return _text(raw)

    async def erase_customer(self, customer_id: str) -> bool:
        key, profile = keys.record(customer_id), keys.profile(customer_id)
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                for _ in range(MAX_RACES):
                    try:
                        await pipe.watch(key)
                        existed = bool(await pipe.exists(key, profile))
                        record = _record(await pipe.get(key))
                        owned = [keys.identity_bucket(k, v) for k, v in identities_of(record)]
                        incidents = [_text(i) for i in await pipe.smembers(keys.incidents())]
                        calls = [
                            _text(c) for c in await pipe.smembers(keys.customer_calls(customer_id))
                        ]
                        docs = [
                            str(_text(d))
                            for d in await pipe.smembers(keys.customer_docs(customer_id))
                        ]
                        pipe.multi()  # type: ignore[no-untyped-call]
                        for doc in docs:
                            collection, _, doc_id = doc.partition("/")
                            pipe.hdel(keys.docs(collection), doc_id)
                        pipe.delete(
                            key,
                            profile,
                            keys.marks(customer_id),
                            keys.customer_docs(customer_id),
                            keys.stops(customer_id),
                            keys.examples(customer_id),
                            keys.customer_calls(customer_id),
                        )
                        for call_id in calls:
                            pipe.delete(keys.call(str(call_id)))
                        for incident_id in incidents:
                            pipe.srem(keys.incident_audience(str(incident_id)), customer_id)
                        for bucket, field in owned:
                            pipe.hdel(bucket, field)
                        for term in index_terms_of(record):
                            await self._index.remove(pipe, term, [customer_id])
                        await pipe.execute()
                        return existed
                    except WatchError:
                        continue
        except RedisError as exc:
            raise StoreUnavailable(f"Redis erase failed: {exc}") from exc
        raise StoreUnavailable("erase kept racing with other writers; try again")

    async def get_profile(self, customer_id: str) -> tuple[bytes | None, bytes | None]:
        try:
            record, profile = await self._r.mget(
                [keys.record(customer_id), keys.profile(customer_id)]
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        blob = _bytes(profile)
        return _record(record), blob[4:] if blob else None

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
                    stored = _bytes(stored)
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
        return {str(_text(c)) for c in channels}

    async def stops_many(self, customer_ids: Sequence[str]) -> list[set[str]]:
        out: list[set[str]] = []
        try:
            for start in range(0, len(customer_ids), 1000):
                async with self._r.pipeline(transaction=False) as pipe:
                    for customer_id in customer_ids[start : start + 1000]:
                        pipe.hkeys(keys.stops(customer_id))
                    replies = await pipe.execute()
                out += [{str(_text(c)) for c in reply} for reply in replies]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return out

    async def put_incident(self, incident_id: str, record: bytes, is_open: bool) -> None:
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(keys.incident(incident_id), record)
                pipe.sadd(keys.incidents(), incident_id)
                if is_open:
                    pipe.sadd(keys.open_incidents(), incident_id)
                else:
                    pipe.srem(keys.open_incidents(), incident_id)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def create_incident(self, incident_id: str, record: bytes) -> bool:
        try:
            created = await self._create_incident(
                keys=[keys.incident(incident_id), keys.incidents(), keys.open_incidents()],
                args=[record, incident_id],
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return bool(created)

    async def get_incident(self, incident_id: str) -> bytes | None:
        try:
            return _bytes(await self._r.get(keys.incident(incident_id)))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc

    async def open_incidents(self) -> list[bytes]:
        try:
            ids = sorted(str(_text(i)) for i in await self._r.smembers(keys.open_incidents()))
            records = await self._r.mget([keys.incident(i) for i in ids]) if ids else []
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return [r for r in (_bytes(x) for x in records) if r is not None]

    async def add_to_audience(self, incident_id: str, customer_ids: Sequence[str]) -> None:
        try:
            for start in range(0, len(customer_ids), 10_000):
                chunk = customer_ids[start : start + 10_000]
                if chunk:
                    await self._r.sadd(keys.incident_audience(incident_id), *chunk)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def audience_of(self, incident_id: str) -> set[str]:
        try:
            members = await self._r.smembers(keys.incident_audience(incident_id))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return {str(_text(m)) for m in members}

    async def count_incident(self, incident_id: str, counter: str, by: int = 1) -> None:
        try:
            await self._r.hincrby(keys.incident_counters(incident_id), counter, by)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def incident_counts(self, incident_id: str) -> dict[str, int]:
        try:
            raw = await self._r.hgetall(keys.incident_counters(incident_id))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return {str(_text(k)): int(v) for k, v in raw.items()}

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.set(keys.call(call_id), record, ex=keys.CALL_TTL)
                if customer_id is not None:
                    pipe.sadd(keys.customer_calls(customer_id), call_id)
                    pipe.expire(keys.customer_calls(customer_id), keys.CALL_TTL)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def get_call(self, call_id: str) -> bytes | None:
        try:
            return _bytes(await self._r.get(keys.call(call_id)))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc

    async def put_example(self, customer_id: str, call_id: str, record: bytes) -> None:
        try:
            await self._r.hset(keys.examples(customer_id), call_id, record)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def examples(self) -> list[bytes]:
        out: list[bytes] = []
        try:
            async for key in self._r.scan_iter(match=keys.examples("*"), count=1000):
                out += [b for b in map(_bytes, (await self._r.hgetall(key)).values()) if b]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return sorted(out)

    async def bump_marks(self, customer_id: str, by: dict[str, float]) -> dict[str, float]:
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                for name, amount in by.items():
                    pipe.hincrbyfloat(keys.marks(customer_id), name, amount)
                values = await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return {name: float(v) for name, v in zip(by, values, strict=True)}

    async def set_marks(self, customer_id: str, values: dict[str, float | None]) -> None:
        key = keys.marks(customer_id)
        gone = [name for name, value in values.items() if value is None]
        kept: dict[str | bytes | bytearray | memoryview | int | float, str | float] = {
            name: value for name, value in values.items() if value is not None
        }
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                if gone:
                    pipe.hdel(key, *gone)
                if kept:
                    pipe.hset(key, mapping=kept)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def marks(self, customer_id: str) -> dict[str, float]:
        try:
            raw = await self._r.hgetall(keys.marks(customer_id))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return {str(_text(k)): float(v) for k, v in raw.items()}

    async def put_doc(
        self, collection: str, doc_id: str, customer_id: str | None, record: bytes
    ) -> None:
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(keys.docs(collection), doc_id, record)
                if customer_id is not None:
                    pipe.sadd(keys.customer_docs(customer_id), f"{collection}/{doc_id}")
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def get_doc(self, collection: str, doc_id: str) -> bytes | None:
        try:
            return _bytes(await self._r.hget(keys.docs(collection), doc_id))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc

    async def swap_doc(
        self, collection: str, doc_id: str, expected: bytes | None, record: bytes
    ) -> bool:
        try:
            swapped = await self._swap_field(
                keys=[keys.docs(collection)],
                args=[doc_id, b"" if expected is None else b"=" + expected, record],
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return bool(swapped)

    async def docs(self, collection: str) -> list[bytes]:
        try:
            raw = await self._r.hgetall(keys.docs(collection))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return [v if isinstance(v, bytes) else v.encode() for _, v in sorted(raw.items())]

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        pattern = keys.record("*")
        try:
            position, found = await self._r.scan(int(cursor or 0), match=pattern, count=limit)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis scan failed: {exc}") from exc
        start, end = len(keys.customer_tag("")) - 1, -len(":r") - 1
        ids = [str(_text(k))[start:end] for k in found]
        return ids, ("" if int(position) == 0 else str(position))

    async def put_api_key(self, key: ApiKey) -> None:
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.set(keys.api_key(key.key_hash), dump_key(key))
                pipe.hset(keys.api_key_ids(), key.id, key.key_hash)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def get_api_key(self, key_hash: str) -> ApiKey | None:
        try:
            raw = await self._r.get(keys.api_key(key_hash))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return load_key(raw) if raw is not None else None

    async def list_api_keys(self) -> list[ApiKey]:
        try:
            hashes = await self._r.hvals(keys.api_key_ids())
            raws = (
                await self._r.mget([keys.api_key(str(_text(h))) for h in hashes]) if hashes else []
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return sorted((load_key(r) for r in raws if r is not None), key=lambda k: k.id)

    async def revoke_api_key(self, key_id: str) -> bool:
        try:
            key_hash = await self._r.hget(keys.api_key_ids(), key_id)
            if key_hash is None:
                return False
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.delete(keys.api_key(str(_text(key_hash))))
                pipe.hdel(keys.api_key_ids(), key_id)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return True


def _bytes(raw: bytes | str | None) -> bytes | None:
    # The client is built without decode_responses, so replies are bytes; typeshed
    # cannot know that.
    return raw.encode() if isinstance(raw, str) else raw


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def _record(raw: bytes | str | None) -> bytes | None:
    stored = _bytes(raw)
    return unpack_record(stored) if stored is not None else None
