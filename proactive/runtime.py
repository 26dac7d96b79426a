"""Opening the outbound machinery from settings: channels, limits, the dispatcher.

Shared by `forecall serve` (embedded dispatcher) and `forecall worker`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import httpx

from connectors.channels import open_channel
from connectors.channels.base import Channel, StoreBound
from connectors.outbox import Outbox
from connectors.store import LimitStore, Store
from core.clock import Clock
from core.errors import ProviderError, StoreUnavailable
from core.events import Catalogue
from core.settings import Settings
from predictors.scenarios import BUILTIN as BUILTIN_SCENARIOS
from predictors.scenarios import Scenarios, load_scenarios
from proactive.breaker import Breaker, SharedBreaker
from proactive.crm_notes import CrmNotes
from proactive.dispatcher import Dispatcher, DispatchSettings
from proactive.gate import StopListGate
from proactive.policy_gate import ContactPolicy
from proactive.ratelimit import RateLimit, SharedTokenBucket, TokenBucket

log = logging.getLogger("forecall.runtime")
# Under amoCRM's refresh margin (an hour), so an idle access token is renewed before expiry.
KEEP_ALIVE_SECONDS = 300.0


def http_client() -> httpx.AsyncClient:
    """One pool for every provider: explicit timeouts, so a slow provider cannot hang us."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=3.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
    )


def open_channels(
    settings: Settings, client: httpx.AsyncClient, store: Store, clock: Clock
) -> dict[str, Channel]:
    try:
        channels = {
            name: open_channel(name, config.connector_config(), client)
            for name, config in settings.channels.items()
        }
    except ValueError as exc:
        raise ValueError(f"channels: {exc}") from None
    for channel in channels.values():
        if isinstance(channel, StoreBound):
            channel.bind(store, clock)
    return channels


async def keep_alive(channels: dict[str, Channel], stop: asyncio.Event, every: float) -> None:
    """Keep connectors' credentials fresh while nothing is sent (amoCRM's refresh token
    dies after three months unused)."""
    bound = [c for c in channels.values() if isinstance(c, StoreBound)]
    while bound and not stop.is_set():
        for channel in bound:
            try:
                await channel.keep_alive()
            except (ProviderError, StoreUnavailable) as exc:
                log.warning("keep-alive failed", extra={"channel": channel.name, "why": str(exc)})
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def load_followups(settings: Settings) -> Scenarios:
    """The follow-up scenarios: the configured file, or the built-in pack."""
    catalogue = Catalogue.with_extensions(
        config.spec(name) for name, config in settings.event_types.items()
    )
    return load_scenarios(settings.followups_file or BUILTIN_SCENARIOS, catalogue)


def make_dispatcher(
    settings: Settings, store: Store, outbox: Outbox, channels: dict[str, Channel], clock: Clock
) -> Dispatcher:
    limits: dict[str, RateLimit] = {}
    breakers: dict[str, Breaker] = {}
    # On Redis, every worker of the deployment shares each provider's rate limit and
    # breaker; on SQLite (one process) they are the process's own.
    shared = store if isinstance(store, LimitStore) else None
    for name, config in settings.channels.items():
        if shared is not None:
            breakers[name] = SharedBreaker(shared, name, clock.now)
        if config.rate_per_second:
            limits[name] = (
                SharedTokenBucket(shared, name, config.rate_per_second, config.burst)
                if shared is not None
                else TokenBucket(config.rate_per_second, config.burst)
            )
    d = settings.dispatcher
    notes = crm_notes(settings, store, outbox)
    return Dispatcher(
        outbox,
        channels,
        clock,
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        limits=limits,
        breakers=breakers,
        gate=ContactPolicy(
            store,
            StopListGate(store, outbox),
            load_followups(settings).policy,
            settings.default_time_zone,
            clock,
        ),
        settings=DispatchSettings(
            batch=d.batch,
            concurrency=d.concurrency,
            lease_seconds=d.lease_seconds,
            max_attempts=d.max_attempts,
            base_delay=d.base_delay,
            max_claims=d.max_claims,
            retention_seconds=d.retention_days * 86400.0,
        ),
        on_sent=notes.on_sent if notes is not None else None,
    )


def crm_notes(settings: Settings, store: Store, outbox: Outbox) -> CrmNotes | None:
    """Notes for the CRM configured among the channels, if any."""
    for name, config in settings.channels.items():
        if config.kind in ("bitrix24", "amocrm"):
            hours = config.connector_config().get("task_hours", 4.0)
            return CrmNotes(store, outbox, name, config.kind, float(hours))  # type: ignore[arg-type]
    return None
