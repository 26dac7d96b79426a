"""What the lifespan opens, as one typed object; routes take its parts through the
`Annotated` dependencies of `api/deps.py`, never the whole."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from api.auth import KeyRing
from connectors.channels.base import Channel
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.events import Catalogue
from core.settings import Settings
from inbound.calls import Calls
from inbound.live import Hub, LocalHub
from predictors.actions import Catalogue as ActionCatalogue
from predictors.registry import ModelRegistry
from proactive.approvals import Approvals
from proactive.crm_notes import CrmNotes
from proactive.crm_sync import CrmSync
from proactive.followups import Followups
from proactive.incident_cache import OpenIncidents
from proactive.incidents import Incidents
from proactive.receipts import Receipts
from proactive.replies import Replies

log = logging.getLogger("forecall.api")


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
    approvals: Approvals  # the approval queue's rules (proactive/approvals.py)
    receipts: Receipts  # providers' receipts (proactive/receipts.py)
    replies: Replies  # customers writing back (proactive/replies.py)
    checks: dict[str, str] = field(default_factory=dict)  # readiness: part -> problem
    live: Hub = field(default_factory=LocalHub)  # desk cards, live (inbound/live.py)
    crm: CrmNotes | None = None  # notes on the CRM contact (proactive/crm_notes.py)
