"""Dependencies routes declare: the app state, the store, the settings, a scoped key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from api.state import AppState
from connectors.store import Store
from core.apikeys import ApiKey
from core.clock import Clock
from core.events import Catalogue
from core.settings import Settings
from inbound.calls import Calls


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.forecall
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_store(state: StateDep) -> Store:
    return state.store


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_clock(state: StateDep) -> Clock:
    return state.clock


def get_event_catalogue(state: StateDep) -> Catalogue:
    return state.catalogue


def get_calls(state: StateDep) -> Calls:
    return state.calls


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
EventCatalogueDep = Annotated[Catalogue, Depends(get_event_catalogue)]
CallsDep = Annotated[Calls, Depends(get_calls)]


def require(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    async def check(
        state: StateDep,
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> ApiKey:
        return await state.keys.authorize(authorization or x_api_key, scope)

    check.__name__ = f"require_{scope}"
    return check


IvrKey = Annotated[ApiKey, Depends(require("ivr"))]
IngestKey = Annotated[ApiKey, Depends(require("ingest"))]
DeskKey = Annotated[ApiKey, Depends(require("desk"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
