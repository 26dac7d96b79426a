"""Event ingest: batches of typed events folded into profiles."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from api.deps import (
    ClockDep,
    EventCatalogueDep,
    FollowupsDep,
    IngestKey,
    OutboxDep,
    SettingsDep,
    StoreDep,
)
from api.metrics import BATCHES_REJECTED_TOTAL, EVENTS_TOTAL, INGEST_SECONDS, track_latency
from api.responses import OrjsonResponse, json_response
from connectors.store import IncidentStore
from core.batch import validate_batch
from core.errors import InvalidInput
from core.incidents import Incident
from proactive.deflection import count_contacts
from profiles.ingest import STALE_REASON, ingest

router = APIRouter(prefix="/v1", tags=["events"])

_BODY_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {
                            "type": "object",
                            "required": ["id", "type", "customer_id", "ts"],
                            "properties": {
                                "id": {"type": "string"},
                                "type": {"type": "string"},
                                "customer_id": {"type": "string"},
                                "ts": {"type": "string", "format": "date-time"},
                                "data": {"type": "object"},
                            },
                        },
                    }
                },
            }
        }
    },
}


@router.post("/events", response_class=OrjsonResponse, openapi_extra={"requestBody": _BODY_SCHEMA})
async def post_events(
    request: Request,
    store: StoreDep,
    outbox: OutboxDep,
    catalogue: EventCatalogueDep,
    followups: FollowupsDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: IngestKey,
) -> OrjsonResponse:
    """Ingest a batch of events (all or nothing); re-sent events change nothing."""
    try:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("body", f"not valid JSON ({exc})") from None
        events = validate_batch(body, catalogue, settings.max_batch_events, clock.now())
    except InvalidInput as exc:
        BATCHES_REJECTED_TOTAL.labels(str(exc.status_code)).inc()
        raise
    with track_latency(INGEST_SECONDS):
        result = await ingest(store, events, catalogue, clock.now())
    await followups.on_events(events, clock.now())
    contacts = [e.customer_id for e in events if e.type == "contact"]
    if contacts:
        await count_contacts(store, outbox, await open_incidents(store), contacts)
    EVENTS_TOTAL.labels("applied").inc(result.applied)
    EVENTS_TOTAL.labels("duplicate").inc(result.duplicates)
    EVENTS_TOTAL.labels("stale").inc(result.stale)
    return json_response(
        {
            "received": result.received,
            "applied": result.applied,
            "duplicates": result.duplicates,
            "stale": result.stale,
            "stale_reason": STALE_REASON if result.stale else None,
        }
    )


@router.get("/event-types", response_class=OrjsonResponse)
async def event_types(catalogue: EventCatalogueDep, _: IngestKey) -> OrjsonResponse:
    """The accepted event types and their fields."""
    return json_response(
        {
            name: {
                "required": dict(spec.required),
                "optional": dict(spec.optional),
                "windowed": spec.windowed,
                "description": spec.description,
            }
            for name, spec in sorted(catalogue.specs.items())
        }
    )


async def open_incidents(store: IncidentStore) -> list[Incident]:
    return [Incident.model_validate_json(r) for r in await store.open_incidents()]
