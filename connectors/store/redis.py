"""The production store: Redis, shared by many API replicas and workers.

One module per concern (`redis_customers.py`, `redis_incidents.py`, `redis_documents.py`,
`redis_keys.py`, `redis_calls.py`, `redis_limits.py`), put together on one client here.
Erasure crosses them all in one WATCH/MULTI transaction, incident scopes that name the
customer included.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from connectors.store import keys
from connectors.store.records import identities_of, index_terms_of, without_customer
from connectors.store.redis_calls import RedisCalls
from connectors.store.redis_client import as_text, connect
from connectors.store.redis_customers import MAX_RACES, RedisCustomers, stored_record
from connectors.store.redis_documents import RedisDocuments
from connectors.store.redis_incidents import RedisIncidents
from connectors.store.redis_keys import RedisKeys
from connectors.store.redis_limits import RedisLimits
from core.errors import StoreUnavailable


class RedisStore(
    RedisCustomers, RedisIncidents, RedisDocuments, RedisKeys, RedisCalls, RedisLimits
):
    def __init__(self, client: aioredis.Redis) -> None:
        RedisCustomers.__init__(self, client)
        RedisIncidents.__init__(self, client)
        RedisDocuments.__init__(self, client)
        RedisKeys.__init__(self, client)
        RedisCalls.__init__(self, client)
        RedisLimits.__init__(self, client)

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

    async def erase_customer(self, customer_id: str) -> bool:
        key, profile = keys.record(customer_id), keys.profile(customer_id)
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                for _ in range(MAX_RACES):
                    try:
                        await pipe.watch(key)
                        existed = bool(await pipe.exists(key, profile))
                        record = stored_record(await pipe.get(key))
                        owned = [keys.identity_bucket(k, v) for k, v in identities_of(record)]
                        incidents = [str(as_text(i)) for i in await pipe.smembers(keys.incidents())]
                        named = await self._naming(pipe, incidents, customer_id)
                        calls = [
                            as_text(c)
                            for c in await pipe.smembers(keys.customer_calls(customer_id))
                        ]
                        docs = [
                            str(as_text(d))
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
                            pipe.srem(keys.incident_audience(incident_id), customer_id)
                        for incident_key, scrubbed in named.items():
                            pipe.set(incident_key, scrubbed)
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

    async def _naming(self, pipe: Any, incidents: list[str], customer_id: str) -> dict[str, bytes]:
        """Incident records whose scope names the customer, without them; watched, so
        that an incident changed meanwhile makes the erasure start over."""
        names = [keys.incident(i) for i in incidents]
        if not names:
            return {}
        await pipe.watch(*names)
        records = await pipe.mget(names)
        named = {}
        for name, raw in zip(names, records, strict=True):
            scrubbed = without_customer(raw, customer_id) if raw else None
            if scrubbed is not None:
                named[name] = scrubbed
        return named
