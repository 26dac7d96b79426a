"""API keys on Redis: the record by the hash of its secret, and an id -> hash index."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store import keys
from connectors.store.records import dump_key, load_key
from connectors.store.redis_client import as_text
from core.apikeys import ApiKey
from core.errors import StoreUnavailable


class RedisKeys:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

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
                await self._r.mget([keys.api_key(str(as_text(h))) for h in hashes])
                if hashes
                else []
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
                pipe.delete(keys.api_key(str(as_text(key_hash))))
                pipe.hdel(keys.api_key_ids(), key_id)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return True
