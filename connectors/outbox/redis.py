"""The production outbox: Redis Streams, sorted sets and one hash per message.

A message due now is an entry in the ready stream, which the `dispatch` consumer group
hands to one worker each; a later one waits in the `due` sorted set until a claim moves
it to the stream. A claimed message holds a lease in the `leases` sorted set, scored by
its end in the callers' clock (`now` is injected everywhere, as the contract wants): a
claim takes back leases that ran out before it reads new entries. Every transition is
one Lua script (`redis_scripts.py`) that also moves the group's and the global counters.
See `connectors.store.keys` for the layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import hiredis
import orjson
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError, ResponseError

from connectors.outbox import PROVIDER_WORDS, RANK, poison_reason, redis_scripts
from connectors.store import keys
from connectors.store.redis_client import connect
from core.errors import StoreUnavailable
from core.messages import FINAL, Message, Status

QUEUE_KEYS = [
    keys.outbox_ready(),
    keys.outbox_due(),
    keys.outbox_leases(),
    keys.outbox_totals(),
    keys.outbox_dead(),
    keys.outbox_done(),
]
PREFIXES = [
    keys.outbox_message(""),
    keys.outbox_counts(""),
    keys.outbox_group_pending(""),
    keys.outbox_provider_ids(""),
    keys.outbox_customer(""),
    keys.OUTBOX_CONSUMER_GROUP,
]
PER_SCRIPT = 100  # messages per enqueue script: small enough to overlap packing and running
PER_CALL = 1000  # ids per cancel or erase script
MAX_RACES = 20


class RedisOutbox:
    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._enqueue = client.register_script(redis_scripts.ENQUEUE)
        self._claim = client.register_script(redis_scripts.CLAIM)
        self._finish = client.register_script(redis_scripts.FINISH)
        self._retry = client.register_script(redis_scripts.RETRY)
        self._bury = client.register_script(redis_scripts.BURY)
        self._swap = client.register_script(redis_scripts.SWAP)
        self._cancel = client.register_script(redis_scripts.CANCEL)
        self._erase = client.register_script(redis_scripts.ERASE)
        self._start = client.register_script(redis_scripts.START)
        self._purge = client.register_script(redis_scripts.PURGE)

    @classmethod
    def from_url(cls, url: str, *, socket_timeout: float = 2.0) -> RedisOutbox:
        client = connect(url, socket_timeout)
        return cls(client)

    async def close(self) -> None:
        await self._r.aclose()

    async def _run(self, script: AsyncScript, *args: bytes | str | int) -> Any:
        return await script(keys=QUEUE_KEYS, args=[*PREFIXES, *args])

    async def enqueue(self, messages: Sequence[Message], now: float) -> int:
        if not messages:
            return 0
        stamp = repr(now)
        with _translated("enqueue"):
            for _ in range(2):
                try:
                    return await self._enqueue_once(messages, stamp, now)
                except NoScriptError:
                    # The server lost its scripts (restart, SCRIPT FLUSH). Running the
                    # batch again is safe: enqueue ignores the ids it already has.
                    await self._r.script_load(redis_scripts.ENQUEUE)
        raise StoreUnavailable("Redis keeps losing the outbox scripts")

    async def _enqueue_once(self, messages: Sequence[Message], stamp: str, now: float) -> int:
        # The rate is set by Python, not Redis: redis-py packs ~1.5 µs per argument, and
        # a pipeline sends nothing until all of it is packed. So each script call is
        # packed by hiredis (in C) and written as soon as it is ready, and Redis runs one
        # chunk while the next is packed; the replies are read at the end.
        head: list[bytes | str | int] = ["EVALSHA", self._enqueue.sha, len(QUEUE_KEYS)]
        head += [*QUEUE_KEYS, *PREFIXES, stamp]
        pool = self._r.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            sent = 0
            for start in range(0, len(messages), PER_SCRIPT):
                args = list(head)
                for m in messages[start : start + PER_SCRIPT]:
                    due = "" if m.due_at <= now else repr(m.due_at)
                    args += (m.id, orjson.dumps(m), m.group, m.customer_id, due)
                # hiredis's stub types the tuple as one element long
                packed = hiredis.pack_command(tuple(args))  # type: ignore[arg-type]
                await conn.send_packed_command(packed)
                sent += 1
            added, error = 0, None
            for _ in range(sent):  # every reply is read, so the connection stays in step
                try:
                    added += int(await conn.read_response())
                except ResponseError as exc:
                    error = error or exc
            if error is not None:
                raise error
            return added
        except ResponseError:
            raise  # every reply was read: the connection can go back to the pool
        except BaseException:
            await conn.disconnect()  # replies may be left unread: not reusable
            raise
        finally:
            await pool.release(conn)

    async def claim(
        self, worker: str, limit: int, now: float, lease: float, max_claims: int = 0
    ) -> list[Message]:
        if limit <= 0:
            return []
        with _translated("claim"):
            raws, poison = await self._run(
                self._claim, worker, repr(now), repr(now + lease), limit, max_claims
            )
        for i in range(0, len(poison), 2):
            # Held for this worker by the claim: nobody else buries or sends it meanwhile.
            dead = _message(poison[i], Status.sending, now)
            dead.error = poison_reason(int(poison[i + 1]))
            await self.bury(dead, now)
        return [
            _message(raws[i], Status.sending, now, int(raws[i + 1]), bool(raws[i + 2]))
            for i in range(0, len(raws), 3)
        ]

    async def start(
        self, message_ids: Sequence[str], worker: str, now: float, lease: float
    ) -> set[str]:
        if not message_ids:
            return set()
        with _translated("start"):
            held = await self._run(self._start, worker, repr(now + lease), *message_ids)
        return {_text(raw) or "" for raw in held}

    async def purge(self, before: float, limit: int) -> int:
        if limit <= 0:
            return 0
        with _translated("purge"):
            return int(await self._run(self._purge, repr(before), limit))

    async def finish(self, message: Message, now: float) -> None:
        if message.status not in FINAL or message.status is Status.dead:
            raise ValueError(f"finish needs a final status other than dead, not {message.status}")
        done = replace(message, updated_at=now)
        with _translated("finish"):
            await self._run(
                self._finish,
                message.id,
                orjson.dumps(done),
                message.status.value,
                repr(now),
                message.route.channel,
                message.provider_message_id or "",
            )

    async def retry(self, message: Message, due_at: float, now: float) -> None:
        back = replace(message, due_at=due_at, status=Status.pending, updated_at=now)
        with _translated("retry"):
            await self._run(self._retry, message.id, orjson.dumps(back), repr(due_at), repr(now))

    async def bury(self, message: Message, now: float) -> None:
        dead = replace(message, status=Status.dead, updated_at=now)
        with _translated("bury"):
            await self._run(
                self._bury, message.id, orjson.dumps(dead), repr(now), keys.DEAD_LETTERS_MAXLEN
            )

    async def get(self, message_id: str) -> Message | None:
        with _translated("read"):
            raw, status, updated_at, claims, flying = await self._r.hmget(
                keys.outbox_message(message_id), ["j", "s", "u", "c", "f"]
            )
        found = _stored(raw, status, updated_at)
        if found is not None:
            found.claims, found.in_flight = int(claims or 0), bool(flying)
        return found

    async def set_status(
        self, message_id: str, status: Status, now: float, error: str | None = None
    ) -> Message | None:
        if status not in PROVIDER_WORDS:
            raise ValueError(f"a provider can say sent, delivered, read or failed, not {status}")

        def change(message: Message) -> Message | None:
            if RANK[status] <= RANK[message.status]:
                return None
            return replace(message, status=status, error=error or message.error)

        message, _ = await self._swap_with(message_id, change, now)
        return message

    async def revive(self, message_id: str, now: float) -> bool:
        def change(message: Message) -> Message | None:
            if message.status is not Status.dead:
                return None
            return replace(message, status=Status.pending, attempts=0, due_at=now)

        _, revived = await self._swap_with(message_id, change, now)
        return revived

    async def _swap_with(
        self, message_id: str, change: Callable[[Message], Message | None], now: float
    ) -> tuple[Message | None, bool]:
        """Read the message, let `change` say what it becomes (None: nothing), and write
        that only if nobody changed the message since; otherwise read it again. Returns
        the message as it now is and whether it changed."""
        key = keys.outbox_message(message_id)
        with _translated("status change"):
            for _ in range(MAX_RACES):
                raw, status, updated_at = await self._r.hmget(key, ["j", "s", "u"])
                current = _stored(raw, status, updated_at)
                if current is None or raw is None or status is None:
                    return None, False
                new = change(current)
                if new is None:
                    return current, False
                new.updated_at = now
                args = (message_id, status, raw, new.status.value, orjson.dumps(new), repr(now))
                if await self._run(self._swap, *args):
                    return new, True
        raise StoreUnavailable("an outbox message kept changing under a status update")

    async def by_provider_id(self, channel: str, provider_message_id: str) -> str | None:
        with _translated("read"):
            found = await self._r.hget(keys.outbox_provider_ids(channel), provider_message_id)
        return _text(found)

    async def dead_letters(self, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        with _translated("read"):
            entries = await self._r.xrange(keys.outbox_dead(), count=limit)
            async with self._r.pipeline(transaction=False) as pipe:
                for _, fields in entries or []:
                    message_id = _text((fields or {}).get(b"m")) or ""
                    pipe.hmget(keys.outbox_message(message_id), ["j", "s", "u"])
                rows = await pipe.execute()
        found = (_stored(*row) for row in rows)
        return [m for m in found if m is not None and m.status is Status.dead]

    async def cancel(self, group: str, customer_id: str | None, now: float) -> int:
        total = 0
        with _translated("cancel"):
            if customer_id is None:
                while True:  # the group's pending set, a batch per script
                    n, seen = await self._run(self._cancel, group, repr(now), PER_CALL)
                    total += int(n)
                    if seen < PER_CALL:
                        return total
            ids = sorted(await self._r.smembers(keys.outbox_customer(customer_id)))
            for start in range(0, len(ids), PER_CALL):
                chunk = ids[start : start + PER_CALL]
                n, _ = await self._run(self._cancel, group, repr(now), "ids", *chunk)
                total += int(n)
        return total

    async def counts(self, group: str) -> dict[str, int]:
        with _translated("read"):
            raw = await self._r.hgetall(keys.outbox_counts(group))
        counted = {_text(status) or "": int(n) for status, n in raw.items()}
        return {status: n for status, n in counted.items() if n}

    async def backlog(self, now: float) -> int:
        with _translated("read"):
            pending, sending = await self._r.hmget(keys.outbox_totals(), ["pending", "sending"])
        return int(pending or 0) + int(sending or 0)

    async def erase_customer(self, customer_id: str) -> int:
        total = 0
        with _translated("erase"):
            while ids := await self._r.srandmember(keys.outbox_customer(customer_id), PER_CALL):
                total += int(await self._run(self._erase, customer_id, *ids))
        return total


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(f"Redis outbox {what} failed: {exc}") from exc


def _text(raw: bytes | str | None) -> str | None:
    # The client is built without decode_responses, so replies are bytes.
    return raw.decode() if isinstance(raw, bytes) else raw


def _message(
    raw: bytes | str, status: Status, updated_at: float, claims: int = 0, flying: bool = False
) -> Message:
    message = Message.loads(raw)  # the hash's `s`, `u`, `c` and `f` win over the JSON's
    message.status, message.updated_at = status, updated_at
    message.claims, message.in_flight = claims, flying
    return message


def _stored(
    raw: bytes | str | None, status: bytes | str | None, updated_at: bytes | str | None
) -> Message | None:
    if raw is None or status is None:
        return None
    return _message(raw, Status(_text(status) or ""), float(updated_at or 0))
