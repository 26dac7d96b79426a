"""What the lifespan opens and the routes use, as one typed object."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TypeVar

from api.auth import KeyRing
from connectors.channels.base import Channel
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.errors import NotFound
from core.events import Catalogue
from core.settings import Settings
from inbound.calls import Calls
from inbound.live import Hub, LocalHub
from predictors.actions import Catalogue as ActionCatalogue
from predictors.registry import ModelRegistry
from proactive.crm_notes import CrmNotes
from proactive.crm_sync import CrmSync
from proactive.followups import Followups
from proactive.incident_cache import OpenIncidents
from proactive.incidents import Incidents

log = logging.getLogger("forecall.api")

C = TypeVar("C")


@dataclass
class AppState:
    settings: Settings
    store: Store
    clock: Clock
    catalogue: Catalogue
    keys: KeyRing
    outbox: Outbox
    channels: dict[str, Channel]
    incidents: Incidents
    models: ModelRegistry
    actions: ActionCatalogue
    open_incidents: OpenIncidents
    followups: Followups
    crm_sync: CrmSync  # what CRM webhooks bring in (proactive/crm_sync.py)
    calls: Calls  # the inbound use case (inbound/calls.py)
    checks: dict[str, str] = field(default_factory=dict)  # readiness: part -> problem
    live: Hub = field(default_factory=LocalHub)  # desk cards, live (inbound/live.py)
    crm: CrmNotes | None = None  # notes on the CRM contact (proactive/crm_notes.py)

    def connector(self, kind: type[C], setting: str) -> C:
        """The configured channel of this class (a CRM); NotFound naming the setting."""
        for channel in self.channels.values():
            if isinstance(channel, kind):
                return channel
        raise NotFound(f"no {kind.__name__} connector is configured (channels: {setting})")
