"""Incidents on Redis: records, the set of open ones, each one's ledger and counters."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.store import keys
from connectors.store.redis_client import as_bytes, as_text
from core.errors import StoreUnavailable

# Create an incident only if its id is new, and list it as open in the same step.
_CREATE_INCIDENT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[2])
  return 1
end
return 0
"""


class RedisIncidents:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._create_incident = client.register_script(_CREATE_INCIDENT)

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
            return as_bytes(await self._r.get(keys.incident(incident_id)))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc

    async def open_incidents(self) -> list[bytes]:
        try:
            ids = sorted(str(as_text(i)) for i in await self._r.smembers(keys.open_incidents()))
            records = await self._r.mget([keys.incident(i) for i in ids]) if ids else []
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return [r for r in (as_bytes(x) for x in records) if r is not None]

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
        return {str(as_text(m)) for m in members}

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
        return {str(as_text(k)): int(v) for k, v in raw.items()}
