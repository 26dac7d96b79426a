"""A circuit breaker per provider: stop hammering a provider that keeps failing.

`CircuitBreaker` keeps its state in the process; `SharedBreaker` keeps it in the store,
so that every dispatcher worker sees the same failures in a row and rests together.
The dispatcher uses either through `Breaker`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from connectors.store import LimitStore

THRESHOLD = 5
COOLDOWN = 30.0


class Breaker(Protocol):
    async def admit(self) -> float | None:
        """None to go ahead; else when to try again (the breaker is open)."""
        ...

    async def succeeded(self) -> None: ...

    async def failed(self) -> None: ...


class CircuitBreaker:
    """Closed until `threshold` failures in a row; then open for `cooldown` seconds;
    then half-open: the next outcome closes it again or reopens it."""

    def __init__(
        self, clock: Callable[[], float], threshold: int = THRESHOLD, cooldown: float = COOLDOWN
    ):
        self._clock = clock
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self._clock() < self.opened_at + self.cooldown else "half_open"

    def allows(self) -> bool:
        return self.state != "open"

    def retry_at(self) -> float:
        return (self.opened_at or self._clock()) + self.cooldown

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self.opened_at = self._clock()

    async def admit(self) -> float | None:
        return None if self.allows() else self.retry_at()

    async def succeeded(self) -> None:
        self.success()

    async def failed(self) -> None:
        self.failure()


class SharedBreaker:
    """The same rules, with the failures and the opening time in the store. Each send
    reads the state (one round trip); a success writes only when there is something to
    forget."""

    def __init__(
        self,
        store: LimitStore,
        name: str,
        clock: Callable[[], float],
        threshold: int = THRESHOLD,
        cooldown: float = COOLDOWN,
    ) -> None:
        self.store = store
        self.name = name
        self._clock = clock
        self.threshold = threshold
        self.cooldown = cooldown
        self._clean = False  # the last read found no failures: a success writes nothing

    async def admit(self) -> float | None:
        failures, opened_at = await self.store.breaker_state(self.name)
        self._clean = failures == 0 and opened_at is None
        if opened_at is not None and self._clock() < opened_at + self.cooldown:
            return opened_at + self.cooldown
        return None

    async def succeeded(self) -> None:
        if not self._clean:
            await self.store.breaker_closed(self.name)
            self._clean = True

    async def failed(self) -> None:
        self._clean = False
        await self.store.breaker_failed(self.name, self._clock(), self.threshold, self.cooldown)
