"""Incidents from incident tooling: declare, change the ETA or scope, resolve, watch."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import IncidentsDep, OpenIncidentsDep, OutboxDep, StoreDep, require
from api.responses import OrjsonResponse, json_response
from core.apikeys import ApiKey
from core.incidents import Incident, IncidentIn, IncidentPatch
from proactive.incident_counts import counts

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])
IncidentsKey = Annotated[ApiKey, Depends(require("incidents"))]


async def _view(store: StoreDep, outbox: OutboxDep, incident: Incident) -> dict[str, Any]:
    """The incident with its live counts."""
    return {
        **incident.model_dump(mode="json"),
        "counts": await counts(store, outbox, incident.id),
    }


@router.post("", response_class=OrjsonResponse)
async def declare(
    body: IncidentIn,
    incidents: IncidentsDep,
    cache: OpenIncidentsDep,
    store: StoreDep,
    outbox: OutboxDep,
    _: IncidentsKey,
    response: Response,
) -> OrjsonResponse:
    """Declare an incident and notify the affected; the same declaration again is a no-op."""
    incident, created = await incidents.declare(body)
    await cache.refresh()  # this process's IVR answers know at once
    return json_response(await _view(store, outbox, incident), 201 if created else 200)


@router.get("", response_class=OrjsonResponse)
async def list_open(
    store: StoreDep,
    _: IncidentsKey,
    status: Annotated[Literal["open"], Query()] = "open",
) -> OrjsonResponse:
    """Open incidents."""
    records = await store.open_incidents()
    return json_response([Incident.model_validate_json(r).model_dump(mode="json") for r in records])


@router.get("/{incident_id}", response_class=OrjsonResponse)
async def show(
    incident_id: str, incidents: IncidentsDep, store: StoreDep, outbox: OutboxDep, _: IncidentsKey
) -> OrjsonResponse:
    """The incident and its live counts."""
    return json_response(await _view(store, outbox, await incidents.get(incident_id)))


@router.patch("/{incident_id}", response_class=OrjsonResponse)
async def change(
    incident_id: str,
    body: IncidentPatch,
    incidents: IncidentsDep,
    cache: OpenIncidentsDep,
    store: StoreDep,
    outbox: OutboxDep,
    _: IncidentsKey,
) -> OrjsonResponse:
    """Move the ETA (affected customers get an update) or widen the scope (newcomers are told)."""
    incident = await incidents.change(incident_id, body)
    await cache.refresh()
    return json_response(await _view(store, outbox, incident))


@router.post("/{incident_id}/resolve", response_class=OrjsonResponse)
async def resolve(
    incident_id: str,
    incidents: IncidentsDep,
    cache: OpenIncidentsDep,
    store: StoreDep,
    outbox: OutboxDep,
    _: IncidentsKey,
) -> OrjsonResponse:
    """Close the incident: those told of it get a closing notice."""
    incident = await incidents.resolve(incident_id)
    await cache.refresh()
    return json_response(await _view(store, outbox, incident))
