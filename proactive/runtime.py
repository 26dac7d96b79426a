"""Opening the outbound machinery from settings: channels, limits, the dispatcher.

Shared by `forecall serve` (embedded dispatcher) and `forecall worker`.
"""

from __future__ import annotations

import os
import socket

import httpx

from connectors.channels import open_channel
from connectors.channels.base import Channel
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.events import Catalogue
from core.settings import Settings
from predictors.scenarios import BUILTIN as BUILTIN_SCENARIOS
from predictors.scenarios import Scenarios, load_scenarios
from proactive.crm_notes import CrmNotes
from proactive.dispatcher import Dispatcher, DispatchSettings
from proactive.gate import StopListGate
from proactive.policy_gate import ContactPolicy
from proactive.ratelimit import TokenBucket


def http_client() -> httpx.AsyncClient:
    """One pool for every provider: explicit timeouts, so a slow provider cannot hang us."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=3.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
    )


def open_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    try:
        return {
            name: open_channel(name, config.connector_config(), client)
            for name, config in settings.channels.items()
        }
    except ValueError as exc:
        raise ValueError(f"channels: {exc}") from None


def load_followups(settings: Settings) -> Scenarios:
    """The follow-up scenarios: the configured file, or the built-in pack."""
    catalogue = Catalogue.with_extensions(
        config.spec(name) for name, config in settings.event_types.items()
    )
    return load_scenarios(settings.followups_file or BUILTIN_SCENARIOS, catalogue)


def make_dispatcher(
    settings: Settings, store: Store, outbox: Outbox, channels: dict[str, Channel], clock: Clock
) -> Dispatcher:
    limits = {
        name: TokenBucket(config.rate_per_second, config.burst)
        for name, config in settings.channels.items()
        if config.rate_per_second
    }
    d = settings.dispatcher
    notes = crm_notes(settings, store, outbox)
    return Dispatcher(
        outbox,
        channels,
        clock,
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        limits=limits,
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
        ),
        on_sent=notes.on_sent if notes is not None else None,
    )


def crm_notes(settings: Settings, store: Store, outbox: Outbox) -> CrmNotes | None:
    """Notes for the CRM configured among the channels, if any."""
    for name, config in settings.channels.items():
        if config.kind == "bitrix24":
            return CrmNotes(store, outbox, name, "bitrix24")
    return None
