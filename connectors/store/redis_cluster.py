"""The store on a Redis Cluster: `redis+cluster://HOST:PORT[,HOST:PORT...]/`.

The same keys as on one Redis (`connectors.store.keys`), and the same code wherever an
operation stays in one slot: everything of one customer shares the `{c:<id>}` hash tag,
so the record, profile, stop-list, marks and ledgers change together as on one server.
What differs is what spans slots, which Redis Cluster cannot do in one transaction:

- a customer write claims its identities (one script per identity bucket, each its own
  slot), then writes the record under WATCH in its own slot, then drops the identities
  and index terms the old record had and adds the new terms;
- erasure cleans up everything outside the customer's slot first (documents, calls,
  incident ledgers and scopes, identities, index terms), then deletes the customer's
  keys in one transaction, so an erasure cut short is finished by running it again;
- reads of many customers (`get_customers`, profile batches) go per slot, in parallel;
- the sweep's `customer_ids` and `examples` visit every master and merge.

A step cut short between slots (a crash of the API process mid-write) can leave an
identity claimed for a customer whose record does not list it; writing the customer
again, or erasing it, puts that right. See docs/scale-out.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, WatchError

from connectors.store import keys
from connectors.store.base import ProfileUpdate
from connectors.store.records import (
    dump_key,
    identities_of,
    index_terms_of,
    load_key,
    pack_record,
    without_customer,
)
from connectors.store.redis import RedisStore
from connectors.store.redis_client import as_bytes, as_text, connect_cluster
from connectors.store.redis_customers import MAX_RACES, RedisCustomers, stored_record
from core.apikeys import ApiKey
from core.errors import Conflict, StoreUnavailable

# Claim an identity for a customer unless another holds it; the holder is the answer.
_CLAIM = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return ''
end
return owner
"""

# Give up an identity only if this customer still holds it (another may have it now).
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""

# Replace a string only if it still holds what was read (an incident scrubbed of a
# customer must not overwrite a change made meanwhile).
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class RedisClusterStore(RedisStore):
    _r: Any  # a RedisCluster: typeshed's Redis methods, most of them, and per-node ones

    def __init__(self, client: RedisCluster) -> None:
        super().__init__(client)  # type: ignore[arg-type]
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._swap = client.register_script(_SWAP)

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float = 2.0) -> RedisClusterStore:
        return cls(connect_cluster(url, socket_timeout))

    async def ping(self) -> None:
        try:
            await self._r.ping(target_nodes=RedisCluster.PRIMARIES)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis Cluster did not answer: {exc}") from exc

    # Customers

    async def put_customer(
        self, customer_id: str, record: bytes, identities: Sequence[tuple[str, str]]
    ) -> bool:
        key = keys.record(customer_id)
        wanted = {keys.identity_bucket(kind, value) for kind, value in identities}
        try:
            claimed = await self._claim_all(customer_id, wanted)
            try:
                old = await self._write_record(key, record)
            except BaseException:
                await self._release_all(customer_id, claimed)
                raise
            stale = {keys.identity_bucket(k, v) for k, v in identities_of(old)} - wanted
            await self._release_all(customer_id, stale)
            old_terms, new_terms = index_terms_of(old), index_terms_of(record)
            for term in old_terms - new_terms:
                await self._index.remove(self._r, term, [customer_id])
            for term in new_terms - old_terms:
                await self._index.add(self._r, term, [customer_id])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return old is None

    async def _claim_all(self, customer_id: str, wanted: set[tuple[str, str]]) -> list[Any]:
        """Claim every identity or none: on a conflict, give back what this call took."""
        taken: list[tuple[str, str]] = []
        for bucket, field in sorted(wanted):
            owner = as_text(await self._claim(keys=[bucket], args=[field, customer_id]))
            if owner == "":
                taken.append((bucket, field))
            elif owner != customer_id:
                await self._release_all(customer_id, taken)
                kind = field.split(":", 1)[0]
                raise Conflict(f"the {kind} identity already belongs to another customer")
        return taken

    async def _release_all(self, customer_id: str, owned: Any) -> None:
        for bucket, field in owned:
            await self._release(keys=[bucket], args=[field, customer_id])

    async def _write_record(self, key: str, record: bytes) -> bytes | None:
        """Set the record under WATCH (its own slot); the record it replaced."""
        async with self._r.pipeline(transaction=True) as pipe:
            for _ in range(MAX_RACES):
                try:
                    await pipe.watch(key)
                    old = stored_record(await pipe.get(key))
                    pipe.multi()
                    pipe.set(key, pack_record(record))
                    await pipe.execute()
                    return old
                except WatchError:
                    continue
        raise StoreUnavailable("customer write kept racing with other writers; try again")

    async def get_customers(self, customer_ids: Sequence[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        try:
            for start in range(0, len(customer_ids), 1000):
                chunk = customer_ids[start : start + 1000]
                if chunk:
                    raw = await self._r.mget_nonatomic([keys.record(c) for c in chunk])
                    out += [stored_record(r) for r in raw]
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return out

    async def update_profiles(self, customer_ids: Sequence[str], update: ProfileUpdate) -> int:
        # The one-server code per slot (its MGET and script need one slot), slots in
        # parallel: customers spread over all 16384 slots.
        by_slot: dict[int, list[str]] = {}
        for customer_id in dict.fromkeys(customer_ids):
            by_slot.setdefault(self._r.keyslot(keys.profile(customer_id)), []).append(customer_id)
        counts = await asyncio.gather(
            *(RedisCustomers.update_profiles(self, group, update) for group in by_slot.values())
        )
        return sum(counts)

    async def customer_ids(self, cursor: str, limit: int) -> tuple[list[str], str]:
        # The cursor is `<master>/<its SCAN cursor>`: masters in name order, each scanned
        # to its end before the next. A failover mid-sweep renames a master; the sweep
        # then starts that master's part over (at least once, as the contract allows).
        masters = sorted(self._r.get_primaries(), key=lambda n: n.name)
        node_name, _, position = cursor.partition("/") if cursor else ("", "", "0")
        names = [n.name for n in masters]
        at = names.index(node_name) if node_name in names else 0
        try:
            next_position, found = await self._r.scan(
                int(position or 0),
                match=keys.record("*"),
                count=limit,
                target_nodes=masters[at],
            )
        except RedisError as exc:
            raise StoreUnavailable(f"Redis scan failed: {exc}") from exc
        next_position = int(next_position.get(masters[at].name, 0))
        start, end = len(keys.customer_tag("")) - 1, -len(":r") - 1
        ids = [str(as_text(k))[start:end] for k in found]
        if next_position:
            return ids, f"{masters[at].name}/{next_position}"
        if at + 1 < len(masters):
            return ids, f"{masters[at + 1].name}/0"
        return ids, ""

    # Incidents: the record, the list of all and of open ones are separate slots.

    async def put_incident(self, incident_id: str, record: bytes, is_open: bool) -> None:
        try:
            await self._r.set(keys.incident(incident_id), record)
            await self._r.sadd(keys.incidents(), incident_id)
            if is_open:
                await self._r.sadd(keys.open_incidents(), incident_id)
            else:
                await self._r.srem(keys.open_incidents(), incident_id)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def create_incident(self, incident_id: str, record: bytes) -> bool:
        try:
            created = await self._r.set(keys.incident(incident_id), record, nx=True)
            # Listed even when the SET lost a race: the winner may not have listed it yet,
            # and listing twice is harmless.
            await self._r.sadd(keys.incidents(), incident_id)
            if created:
                await self._r.sadd(keys.open_incidents(), incident_id)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return bool(created)

    async def open_incidents(self) -> list[bytes]:
        try:
            ids = sorted(str(as_text(i)) for i in await self._r.smembers(keys.open_incidents()))
            records = await self._r.mget_nonatomic([keys.incident(i) for i in ids]) if ids else []
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return [r for r in (as_bytes(x) for x in records) if r is not None]

    # Documents and API keys: the collection and the customer's index of it are apart.

    async def put_doc(
        self, collection: str, doc_id: str, customer_id: str | None, record: bytes
    ) -> None:
        try:
            if customer_id is not None:  # indexed first, so that erasure always finds it
                await self._r.sadd(keys.customer_docs(customer_id), f"{collection}/{doc_id}")
            await self._r.hset(keys.docs(collection), doc_id, record)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def put_api_key(self, key: ApiKey) -> None:
        try:
            await self._r.set(keys.api_key(key.key_hash), dump_key(key))
            await self._r.hset(keys.api_key_ids(), key.id, key.key_hash)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc

    async def list_api_keys(self) -> list[ApiKey]:
        try:
            hashes = await self._r.hvals(keys.api_key_ids())
            names = [keys.api_key(str(as_text(h))) for h in hashes]
            raws = await self._r.mget_nonatomic(names) if names else []
        except RedisError as exc:
            raise StoreUnavailable(f"Redis read failed: {exc}") from exc
        return sorted((load_key(r) for r in raws if r is not None), key=lambda k: k.id)

    async def revoke_api_key(self, key_id: str) -> bool:
        try:
            key_hash = await self._r.hget(keys.api_key_ids(), key_id)
            if key_hash is None:
                return False
            await self._r.delete(keys.api_key(str(as_text(key_hash))))
            await self._r.hdel(keys.api_key_ids(), key_id)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis write failed: {exc}") from exc
        return True

    # Erasure

    async def erase_customer(self, customer_id: str) -> bool:
        key, profile = keys.record(customer_id), keys.profile(customer_id)
        try:
            record = stored_record(await self._r.get(key))
            existed = bool(await self._r.exists(key, profile))
            await self._erase_outside(customer_id, record)
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.delete(
                    key,
                    profile,
                    keys.marks(customer_id),
                    keys.customer_docs(customer_id),
                    keys.stops(customer_id),
                    keys.examples(customer_id),
                    keys.customer_calls(customer_id),
                )
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis erase failed: {exc}") from exc
        return existed

    async def _erase_outside(self, customer_id: str, record: bytes | None) -> None:
        """Everything of the customer outside its slot, each key on its own."""
        for doc in await self._r.smembers(keys.customer_docs(customer_id)):
            collection, _, doc_id = str(as_text(doc)).partition("/")
            await self._r.hdel(keys.docs(collection), doc_id)
        for call_id in await self._r.smembers(keys.customer_calls(customer_id)):
            await self._r.delete(keys.call(str(as_text(call_id))))
        for raw_id in await self._r.smembers(keys.incidents()):
            incident_id = str(as_text(raw_id))
            await self._r.srem(keys.incident_audience(incident_id), customer_id)
            await self._scrub_incident(keys.incident(incident_id), customer_id)
        owned = [keys.identity_bucket(k, v) for k, v in identities_of(record)]
        await self._release_all(customer_id, owned)
        for term in index_terms_of(record):
            await self._index.remove(self._r, term, [customer_id])

    async def _scrub_incident(self, name: str, customer_id: str) -> None:
        for _ in range(MAX_RACES):
            raw = as_bytes(await self._r.get(name))
            scrubbed = without_customer(raw, customer_id) if raw else None
            if (
                raw is None
                or scrubbed is None
                or await self._swap(keys=[name], args=[raw, scrubbed])
            ):
                return
        raise StoreUnavailable("erase kept racing with incident updates; try again")
