"""`forecall serve --demo`: a population with weeks of outbound history behind it, a
sandbox channel to deliver to, and an outage in progress."""

from __future__ import annotations

import logging

from api.state import AppState
from core.events import Event
from core.settings import ChannelSettings, Settings
from models.demo import DEMO_CHANNELS, demo_incident
from proactive.history import play

log = logging.getLogger("forecall.demo")


def with_sandbox(settings: Settings) -> Settings:
    """The demo's settings: with no channel configured, every channel is a sandbox (so
    incidents and follow-ups reach someone, and the console shows what they read)."""
    if not settings.demo or settings.channels:
        return settings
    channels = {name: ChannelSettings.model_validate(c) for name, c in DEMO_CHANNELS.items()}
    return settings.model_copy(update={"channels": channels})


async def start(state: AppState, recent: list[Event]) -> None:
    """Play the population's last weeks through the outbound machinery, then declare the
    demo's outage. Runs once, when the population is first loaded."""
    now = state.clock.now()
    played = await play(
        state.store,
        state.outbox,
        state.catalogue,
        state.followups,
        state.channels,
        recent,
        now,
        time_zone=state.settings.default_time_zone,
        app_clock=state.clock,
    )
    await state.incidents.declare(demo_incident(now))
    await state.open_incidents.refresh()
    log.info("demo ready", extra={"events": played.events, "sent": played.sent})
