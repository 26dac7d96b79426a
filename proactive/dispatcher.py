"""The dispatcher: claims due messages from the outbox and delivers them.

A worker's life: claim a batch (its own or a crashed worker's expired claims), send each
message on its current route under the provider's rate limit and circuit breaker, then
finish it, retry it later with backoff, fall back to the customer's next channel, or give
it up to the dead-letter queue. Delivery is at least once; the message id travels to the
provider as its idempotency key so that a retry after a crash is not a second message.

The window for a second message is kept to the requests under way: each message is marked
in flight (`Outbox.start`, which also renews its lease and checks the worker still holds
it) just before its provider request, and finished the moment the provider answers. A
claim that sat past its lease (a slow rate limit) and went to another worker is dropped
here, not sent twice. A message claimed `max_claims` times without an answer (it kills or
breaks its workers) is buried by the claim itself. Finished messages older than the
retention period are purged on a timer.

A provider with a bulk endpoint (`BatchChannel` with `max_batch` > 1) gets its messages
in chunks, one request each: the policy, limits and outcomes stay per message.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from connectors.channels.base import BatchChannel, Channel, OutboundMessage, SendResult
from connectors.outbox import Outbox
from core.clock import Clock
from core.errors import ProviderError
from core.messages import Message, Status
from proactive.breaker import Breaker, CircuitBreaker
from proactive.metrics import DISPATCH_SECONDS, MESSAGES_TOTAL, PURGED_TOTAL
from proactive.ratelimit import RateLimit

log = logging.getLogger("forecall.dispatcher")
PURGE_CHUNK = 1000
PURGE_CHUNKS_PER_TURN = 10


@dataclass(frozen=True)
class Block:
    """Why a message must not go out now: on this channel only, or at all, or not yet
    (`defer_until`: deferred, not dropped: quiet hours, caps, an open outage)."""

    reason: str
    channel_only: bool = False
    defer_until: float | None = None


SendGate = Callable[[Message], Awaitable[Block | None]]


async def open_gate(message: Message) -> Block | None:
    return None


@dataclass(frozen=True)
class DispatchSettings:
    batch: int = 200
    concurrency: int = 64
    lease_seconds: float = 60.0
    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 900.0
    idle_sleep: float = 0.05
    max_claims: int = 5  # claims without an answer before a message is a poison message
    retention_seconds: float = 30 * 86400.0  # finished messages kept; 0 keeps them forever
    purge_every: float = 3600.0


def backoff(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential with jitter ("equal jitter"), never sooner than the provider asked."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        worker_id: str,
        limits: Mapping[str, RateLimit] | None = None,
        breakers: Mapping[str, Breaker] | None = None,
        gate: SendGate = open_gate,
        settings: DispatchSettings | None = None,
        on_sent: Callable[[Message, float], Awaitable[None]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.channels = channels
        self.clock = clock
        self.worker_id = worker_id
        self.limits = dict(limits or {})
        self.gate = gate
        self.on_sent = on_sent  # e.g. a note in the CRM (proactive.crm_notes)
        self.settings = settings or DispatchSettings()
        # Kept in the process unless shared ones are given (proactive.runtime).
        self.breakers: dict[str, Breaker] = {name: CircuitBreaker(clock.now) for name in channels}
        self.breakers.update(breakers or {})
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._next_purge = 0.0

    async def run_once(self) -> int:
        """Claim one batch and handle it; the number of messages handled."""
        now = self.clock.now()
        claimed = await self.outbox.claim(
            self.worker_id,
            self.settings.batch,
            now,
            self.settings.lease_seconds,
            self.settings.max_claims,
        )
        if not claimed:
            return 0
        singles: list[Message] = []
        bulk: dict[str, list[Message]] = {}
        for message in claimed:
            channel = self.channels.get(message.route.channel)
            if isinstance(channel, BatchChannel) and channel.max_batch > 1:
                bulk.setdefault(message.route.channel, []).append(message)
            else:
                singles.append(message)
        work = [self._guarded(m) for m in singles]
        for name, messages in bulk.items():
            size = self.channels[name].max_batch  # type: ignore[attr-defined]
            limit = self.limits.get(name)
            if limit is not None:
                # A chunk costs its size in tokens at once: never more than the burst.
                size = max(1, min(size, int(limit.burst)))
            chunks = (messages[i : i + size] for i in range(0, len(messages), size))
            work += [self._guarded_batch(name, chunk) for chunk in chunks]
        await asyncio.gather(*work)
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; finish the batch in hand first (graceful shutdown)."""
        while not stop.is_set():
            try:
                await self._purge_when_due()
                handled = await self.run_once()
            except Exception:
                log.exception(
                    "dispatch batch failed; backing off", extra={"worker": self.worker_id}
                )
                handled = 0
                await asyncio.sleep(1.0)
            if not handled:
                try:
                    await asyncio.wait_for(stop.wait(), self.settings.idle_sleep)
                except TimeoutError:
                    pass

    async def purge(self, now: float, chunks: int = 1_000_000) -> int:
        """Remove finished messages older than the retention period, `PURGE_CHUNK` at a
        time, at most `chunks` times; how many went."""
        if self.settings.retention_seconds <= 0:
            return 0
        before, total = now - self.settings.retention_seconds, 0
        for _ in range(chunks):
            n = await self.outbox.purge(before, PURGE_CHUNK)
            total += n
            if n < PURGE_CHUNK:
                break
        PURGED_TOTAL.inc(total)
        return total

    async def _purge_when_due(self) -> None:
        now = self.clock.now()
        if now < self._next_purge:
            return
        # A few chunks between batches, so a long backlog of old messages (the first
        # purge of a busy outbox) never holds up sending; the rest on the next turn.
        purged = await self.purge(now, PURGE_CHUNKS_PER_TURN)
        more = purged >= PURGE_CHUNK * PURGE_CHUNKS_PER_TURN
        self._next_purge = now if more else now + self.settings.purge_every
        if purged:
            log.info("outbox purged", extra={"worker": self.worker_id, "messages": purged})

    async def _start(self, messages: Sequence[Message]) -> list[Message]:
        """Mark messages in flight just before their request; those whose claim went to
        another worker meanwhile are left to it."""
        held = await self.outbox.start(
            [m.id for m in messages],
            self.worker_id,
            self.clock.now(),
            self.settings.lease_seconds,
        )
        for message in messages:
            if message.id not in held:
                MESSAGES_TOTAL.labels(message.route.channel, "lost").inc()
            elif message.in_flight:
                # Its last worker died mid-request: without de-duplication at the
                # provider, this may be the customer's second copy.
                MESSAGES_TOTAL.labels(message.route.channel, "resent").inc()
        return [m for m in messages if m.id in held]

    async def _guarded(self, message: Message) -> None:
        async with self._slots:
            try:
                await self.handle(message)
            except Exception:
                # Leave the claim to expire: another attempt will pick the message up.
                log.exception("message handling failed", extra={"message_id": message.id})

    async def _guarded_batch(self, name: str, messages: list[Message]) -> None:
        async with self._slots:
            try:
                await self.handle_batch(name, messages)
            except Exception:
                log.exception("batch handling failed", extra={"channel": name})

    async def _blocked(self, message: Message, block: Block) -> None:
        if block.defer_until is not None:
            message.error = f"deferred: {block.reason}"
            await self.outbox.retry(message, block.defer_until, self.clock.now())
            return
        if block.channel_only:
            await self._fall_back(message, block.reason, Status.suppressed)
        else:
            await self._settle(message, block.reason, Status.suppressed)

    async def handle(self, message: Message) -> None:
        block = await self.gate(message)
        if block is not None:
            await self._blocked(message, block)
            return
        route = message.route
        channel = self.channels.get(route.channel)
        if channel is None:
            await self._fall_back(message, f"channel {route.channel} is not configured")
            return
        breaker = self.breakers[route.channel]
        reopens = await breaker.admit()
        if reopens is not None:
            message.error = f"deferred: {route.channel} circuit open"
            await self.outbox.retry(message, reopens, self.clock.now())
            return
        limit = self.limits.get(route.channel)
        if limit is not None:
            await limit.acquire()
        if not await self._start([message]):
            return
        with DISPATCH_SECONDS.labels(route.channel).time():
            try:
                result = await channel.send(_outbound(message))
            except ProviderError as exc:
                await self._failed(message, breaker, exc)
                return
        await breaker.succeeded()
        await self._sent(message, result)

    async def handle_batch(self, name: str, messages: Sequence[Message]) -> None:
        """Like `handle`, for a chunk of messages on one bulk-capable channel."""
        blocks = await asyncio.gather(*(self.gate(m) for m in messages))
        ready: list[Message] = []
        for message, block in zip(messages, blocks, strict=True):
            if block is None:
                ready.append(message)
            else:
                await self._blocked(message, block)
        if not ready:
            return
        channel = self.channels[name]
        assert isinstance(channel, BatchChannel)
        breaker = self.breakers[name]
        now = self.clock.now()
        reopens = await breaker.admit()
        if reopens is not None:
            for m in ready:
                m.error = f"deferred: {name} circuit open"
            await asyncio.gather(*(self.outbox.retry(m, reopens, now) for m in ready))
            return
        limit = self.limits.get(name)
        if limit is not None:
            await limit.acquire(len(ready))
        ready = await self._start(ready)
        if not ready:
            return
        with DISPATCH_SECONDS.labels(name).time():
            try:
                results = await channel.send_many([_outbound(m) for m in ready])
            except ProviderError as exc:
                # One refused request is one failure for the breaker, not one per message.
                await breaker.failed()
                await asyncio.gather(*(self._failed(m, breaker, exc, False) for m in ready))
                return
        await breaker.succeeded()
        # One at a time: a chunk's hundred acknowledgements at once queue for the store's
        # connections behind every other chunk's, and time out on a loaded machine.
        for m, r in zip(ready, results, strict=True):
            if isinstance(r, SendResult):
                await self._sent(m, r)
            else:
                await self._failed(m, breaker, r, False)

    async def _sent(self, message: Message, result: SendResult) -> None:
        message.status = Status.sent
        message.provider_message_id = result.provider_message_id
        message.error = None
        await self.outbox.finish(message, self.clock.now())
        MESSAGES_TOTAL.labels(message.route.channel, "sent").inc()
        if self.on_sent is not None:
            try:
                await self.on_sent(message, self.clock.now())
            except Exception:  # the message is sent; a missing note must not resend it
                log.exception("after-send hook failed", extra={"message_id": message.id})

    async def _failed(
        self,
        message: Message,
        breaker: Breaker,
        exc: ProviderError,
        count_failure: bool = True,
    ) -> None:
        channel = message.route.channel
        message.error = exc.message
        if exc.permanent:
            MESSAGES_TOTAL.labels(channel, "rejected").inc()
            await self._fall_back(message, exc.message)
            return
        if count_failure:
            await breaker.failed()
        message.attempts += 1
        if message.attempts >= self.settings.max_attempts:
            if message.step + 1 < len(message.routes):
                await self._fall_back(message, f"gave up after {message.attempts} attempts")
                return
            message.status = Status.dead
            await self.outbox.bury(message, self.clock.now())
            MESSAGES_TOTAL.labels(channel, "dead").inc()
            return
        delay = backoff(
            message.attempts, self.settings.base_delay, self.settings.max_delay, exc.retry_after
        )
        MESSAGES_TOTAL.labels(channel, "retry").inc()
        await self.outbox.retry(message, self.clock.now() + delay, self.clock.now())

    async def _fall_back(
        self, message: Message, reason: str, final: Status = Status.failed
    ) -> None:
        """Try the customer's next channel now, or settle on `final` if none is left."""
        message.error = reason
        if message.step + 1 < len(message.routes):
            message.step += 1
            message.attempts = 0
            await self.outbox.retry(message, self.clock.now(), self.clock.now())
            return
        await self._settle(message, reason, final)

    async def _settle(self, message: Message, reason: str, final: Status) -> None:
        message.status = final
        message.error = reason
        await self.outbox.finish(message, self.clock.now())
        MESSAGES_TOTAL.labels(message.route.channel, final.value).inc()


def _outbound(message: Message) -> OutboundMessage:
    route = message.route
    return OutboundMessage(
        # A request of ours may have reached the provider before: a worker died in
        # flight, or an attempt on this route timed out or failed without a clear no.
        resend=message.in_flight or message.attempts > 0,
        id=message.id,
        customer_id=message.customer_id,
        channel=route.channel,
        address=route.address,
        text=route.text,
        subject=route.subject,
        template=route.template,
        params=route.params,
        metadata=message.meta,
    )
