"""Documents and marks on Redis: one HASH per collection, one per customer's marks."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store import keys
from connectors.store.redis_client import as_bytes, as_text
from core.errors import StoreUnavailable

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


class RedisDocuments:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._swap_field = client.register_script(_SWAP_FIELD)

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
        return {str(as_text(k)): float(v) for k, v in raw.items()}

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
            return as_bytes(await self._r.hget(keys.docs(collection), doc_id))
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
