"""The IVR path's breaker on the store: a dead store costs a call microseconds, not its
whole budget.

After `threshold` failed reads in a row (the store refused or dropped them) the breaker
opens: calls get the safe default at once, `store_unavailable`. A read cut off by the
deadline proves nothing by itself (a busy event loop cuts reads off too), so it only
makes the breaker ping the store once with a longer timeout: a store that does not
answer that opens the breaker too (a hung server, not a dead one).
While open, one background ping at a time probes the store, every `cooldown` seconds;
the first that answers closes the breaker. Callers never serve as the probe, so none of
them waits on a store that may be gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

log = logging.getLogger("forecall.inbound")
BREAKER_OPEN = Gauge(
    "forecall_inbound_store_breaker_open", "1 while the IVR path treats the store as down."
)


class StoreBreaker:
    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        *,
        threshold: int = 3,
        cooldown: float = 0.25,
        probe_timeout: float = 1.0,
    ) -> None:
        self._ping = ping
        self.threshold = threshold
        self.cooldown = cooldown
        self.probe_timeout = probe_timeout
        self.failures = 0
        self.open = False
        self._probe: asyncio.Task[None] | None = None
        self._check: asyncio.Task[None] | None = None

    def allows(self) -> bool:
        """False while the store is treated as down (and a probe is on its way)."""
        if self.open and self._probe is None:
            self._probe = asyncio.create_task(self._probing(), name="store-probe")
        return not self.open

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self._open()

    def suspect(self) -> None:
        """A read ran out of time: check the store once, in the background."""
        if not self.open and self._check is None:
            self._check = asyncio.create_task(self._checking(), name="store-check")

    def _open(self) -> None:
        if not self.open:
            self.open = True
            BREAKER_OPEN.set(1)
            log.warning("store breaker open: IVR calls get the safe default")

    async def _checking(self) -> None:
        try:
            async with asyncio.timeout(self.probe_timeout):
                await self._ping()
        except Exception:
            self._open()
        finally:
            self._check = None

    async def _probing(self) -> None:
        try:
            while self.open:
                await asyncio.sleep(self.cooldown)
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.probe_timeout):
                        await self._ping()
                except Exception:
                    log.debug("store probe failed after %.3f s", time.monotonic() - started)
                    continue
                self.open, self.failures = False, 0
                BREAKER_OPEN.set(0)
                log.warning("store breaker closed: the store answers again")
        finally:
            self._probe = None

    async def close(self) -> None:
        """On shutdown: stop probing."""
        for task in (self._probe, self._check):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
