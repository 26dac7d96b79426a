"""Calls and labelled examples on Redis: a call's decision under a week's TTL, indexed by
customer so that erasure finds it; examples in one HASH per customer."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store import keys
from connectors.store.redis_client import as_bytes
from core.errors import StoreUnavailable


class RedisCalls:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    async def put_call(self, call_id: str, customer_id: str | None, record: bytes) -> None:
        await self.put_calls([(call_id, customer_id, record)])

    async def put_calls(self, calls: Sequence[tuple[str, str | None, bytes]]) -> None:
        if not calls:
            return
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for call_id, customer_id, record in calls:
                    pipe.set(keys.call(call_id), record, ex=keys.CALL_TTL)
                    if customer_id is not None:
                        pipe.sadd(keys.customer_calls(customer_id), call_id)
                        pipe.expire(keys.customer_calls(customer_id), keys.CALL_TTL)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def get_call(self, call_id: str) -> bytes | None:
        try:
            return as_bytes(await self._r.get(keys.call(call_id)))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc

    async def get_calls(self, call_ids: Sequence[str]) -> list[bytes | None]:
        if not call_ids:
            return []
        try:
            # On Redis Cluster this MGET would run per hash slot; call keys carry no tag.
            return [as_bytes(r) for r in await self._r.mget([keys.call(c) for c in call_ids])]
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
                out += [b for b in map(as_bytes, (await self._r.hgetall(key)).values()) if b]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return sorted(out)
