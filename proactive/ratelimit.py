"""A token bucket per provider: bursts up to `burst`, `rate` messages a second on average.

`TokenBucket` keeps it in the process (one worker, or the embedded SQLite store);
`SharedTokenBucket` keeps it in the store, so that any number of dispatcher workers
together hold the provider's rate (connectors.store.redis_limits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from connectors.store import LimitStore


class RateLimit(Protocol):
    burst: float

    async def acquire(self, tokens: int = 1) -> None:
        """Wait until `tokens` (at most the burst) may be spent at once."""
        ...


class TokenBucket:
    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, tokens: int = 1) -> None:
        """Wait until `tokens` (at most the burst) can be spent at once: a bulk request
        of n messages costs n, taken together so that requests do not interleave."""
        if tokens > self.burst:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.burst}")
        # The lock makes waiters queue in order: without it, every waiter would wake at
        # once and the bucket would let a burst through.
        async with self._lock:
            self._refill()
            if self._tokens < tokens:
                await asyncio.sleep((tokens - self._tokens) / self.rate)
                self._refill()
            self._tokens -= tokens


class SharedTokenBucket:
    """The same bucket, held in the store for every worker: each acquire reserves its
    tokens there (one round trip) and sleeps as long as the store says."""

    def __init__(
        self, store: LimitStore, name: str, rate: float, burst: float | None = None
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.store = store
        self.name = name
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 10)

    async def acquire(self, tokens: int = 1) -> None:
        if tokens > self.burst:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.burst}")
        wait = await self.store.reserve_tokens(self.name, self.rate, self.burst, tokens)
        if wait > 0:
            await asyncio.sleep(wait)
