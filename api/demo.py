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


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings. With no channel configured, every channel is a sandbox (so
    incidents and follow-ups reach someone, and the console shows what they read). On
    SQLite, commits are not each flushed to disk (`synchronous=normal`, still crash-safe
    in WAL mode; the last moments may be lost on a power cut): loading weeks of history
    is tens of thousands of small writes, which would otherwise take minutes."""
    if not settings.demo:
        return settings
    update: dict[str, object] = {}
    if not settings.channels:
        update["channels"] = {
            name: ChannelSettings.model_validate(c) for name, c in DEMO_CHANNELS.items()
        }
    if settings.store.startswith("sqlite:") and "synchronous=" not in settings.store:
        joiner = "&" if "?" in settings.store else "?"
        update["store"] = f"{settings.store}{joiner}synchronous=normal"
    return settings.model_copy(update=update)


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
