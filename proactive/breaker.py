"""A circuit breaker per provider: stop hammering a provider that keeps failing."""

from __future__ import annotations

from collections.abc import Callable


class CircuitBreaker:
    """Closed until `threshold` failures in a row; then open for `cooldown` seconds;
    then half-open: the next outcome closes it again or reopens it."""

    def __init__(self, clock: Callable[[], float], threshold: int = 5, cooldown: float = 30.0):
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
