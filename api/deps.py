"""Dependencies routes declare: each part of the app they use, and a scoped key.

The lifespan opens every resource once and keeps them in `AppState`; a route never sees
that holder, only the parts it names (`StoreDep`, `OutboxDep`, `IncidentsDep`...), as
the FastAPI project template does.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request

from api.auth import KeyRing
from api.state import AppState
from connectors.channels.base import Channel
from connectors.outbox import Outbox
from connectors.store import Store
from core.apikeys import ApiKey
from core.clock import Clock
from core.errors import NotFound
from core.events import Catalogue
from core.settings import Settings
from inbound.calls import Calls
from inbound.live import Hub
from predictors.actions import Catalogue as ActionCatalogue
from predictors.registry import ModelRegistry
from proactive.approvals import Approvals
from proactive.crm_sync import CrmSync
from proactive.followups import Followups
from proactive.incident_cache import OpenIncidents
from proactive.incidents import Incidents
from proactive.receipts import Receipts
from proactive.replies import Replies

C = TypeVar("C")


def app_state(request: Request) -> AppState:
    """The lifespan's holder; only the getters below read it."""
    state: AppState = request.app.state.forecall
    return state


_State = Annotated[AppState, Depends(app_state)]


def get_store(state: _State) -> Store:
    return state.store


def get_settings(state: _State) -> Settings:
    return state.settings


def get_clock(state: _State) -> Clock:
    return state.clock


def get_event_catalogue(state: _State) -> Catalogue:
    return state.catalogue


def get_calls(state: _State) -> Calls:
    return state.calls


def get_outbox(state: _State) -> Outbox:
    return state.outbox


def get_keys(state: _State) -> KeyRing:
    return state.keys


def get_models(state: _State) -> ModelRegistry:
    return state.models


def get_actions(state: _State) -> ActionCatalogue:
    return state.actions


def get_incidents(state: _State) -> Incidents:
    return state.incidents


def get_open_incidents(state: _State) -> OpenIncidents:
    return state.open_incidents


def get_followups(state: _State) -> Followups:
    return state.followups


def get_crm_sync(state: _State) -> CrmSync:
    return state.crm_sync


def get_approvals(state: _State) -> Approvals:
    return state.approvals


def get_receipts(state: _State) -> Receipts:
    return state.receipts


def get_replies(state: _State) -> Replies:
    return state.replies


def get_live(state: _State) -> Hub:
    return state.live


def get_channels(state: _State) -> dict[str, Channel]:
    return state.channels


def get_checks(state: _State) -> dict[str, str]:
    return state.checks


ARRIVED = "forecall.arrived"  # the ASGI scope key api/app.py stamps


def get_arrived(request: Request) -> float:
    """When the request came in (time.monotonic()): the IVR's budget counts from here."""
    arrived = request.scope.get(ARRIVED)
    return float(arrived) if arrived is not None else time.monotonic()


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
EventCatalogueDep = Annotated[Catalogue, Depends(get_event_catalogue)]
CallsDep = Annotated[Calls, Depends(get_calls)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
KeyRingDep = Annotated[KeyRing, Depends(get_keys)]
ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
ActionsDep = Annotated[ActionCatalogue, Depends(get_actions)]
IncidentsDep = Annotated[Incidents, Depends(get_incidents)]
OpenIncidentsDep = Annotated[OpenIncidents, Depends(get_open_incidents)]
FollowupsDep = Annotated[Followups, Depends(get_followups)]
CrmSyncDep = Annotated[CrmSync, Depends(get_crm_sync)]
ApprovalsDep = Annotated[Approvals, Depends(get_approvals)]
ReceiptsDep = Annotated[Receipts, Depends(get_receipts)]
RepliesDep = Annotated[Replies, Depends(get_replies)]
LiveDep = Annotated[Hub, Depends(get_live)]
ChannelsDep = Annotated[dict[str, Channel], Depends(get_channels)]
ChecksDep = Annotated[dict[str, str], Depends(get_checks)]


def connector(channels: dict[str, Channel], kind: type[C], setting: str) -> C:
    """The configured channel of this class (a CRM); NotFound naming the setting."""
    for channel in channels.values():
        if isinstance(channel, kind):
            return channel
    raise NotFound(f"no {kind.__name__} connector is configured (channels: {setting})")


Arrived = Annotated[float, Depends(get_arrived)]


def require(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    async def check(
        keys: KeyRingDep,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> ApiKey:
        return await keys.authorize(authorization or x_api_key, scope)

    check.__name__ = f"require_{scope}"
    return check


IvrKey = Annotated[ApiKey, Depends(require("ivr"))]
IngestKey = Annotated[ApiKey, Depends(require("ingest"))]
DeskKey = Annotated[ApiKey, Depends(require("desk"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
