"""The operator desk: the page, its session, live cards by server-sent events, the card
and its outcome; and the IVR's word on where it transferred a call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path as FilePath
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import (
    ClockDep,
    EventCatalogueDep,
    KeyRingDep,
    LiveDep,
    SettingsDep,
    StoreDep,
    require,
)
from api.responses import OrjsonResponse, json_response
from api.schemas import OutcomeIn
from api.sessions import NAME, LoginIn, Session, Sessions, describe, require_csrf_header
from core.apikeys import ApiKey
from core.errors import InvalidInput, NotFound
from inbound import cards
from inbound.outcomes import record_outcome

router = APIRouter(tags=["desk"])
STATIC = FilePath(__file__).resolve().parent.parent / "static"
SESSIONS = Sessions("forecall_desk", "/desk", "desk", operator=True)
DeskSession = Annotated[Session, Depends(SESSIONS.dependency())]
IvrKey = Annotated[ApiKey, Depends(require("ivr"))]
CallId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")]  # as inbound
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing an idle stream
# Each stream ends after a while and the browser's EventSource reconnects at once: a
# server shutting down then waits for no page longer than this.
STREAM_SECONDS = 60.0


@router.get("/desk", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "desk.html", headers={"Cache-Control": "no-cache"})


@router.post("/desk/api/session", response_class=OrjsonResponse)
async def login(
    body: LoginIn, request: Request, keys: KeyRingDep, settings: SettingsDep
) -> Response:
    """Log in with a key holding the `desk` scope, as an operator id and/or queues."""
    return await SESSIONS.login(body, request, keys, settings.default_time_zone)


@router.get("/desk/api/session", response_class=OrjsonResponse)
async def whoami(session: DeskSession, settings: SettingsDep) -> OrjsonResponse:
    """Who this page is logged in as."""
    return json_response(describe(session, settings.default_time_zone))


@router.delete("/desk/api/session", status_code=204)
async def logout(request: Request) -> Response:
    """End the session (drop the cookie)."""
    return SESSIONS.logout(request)


@router.get("/desk/api/events")
async def events(session: DeskSession, live: LiveDep) -> StreamingResponse:
    """Server-sent events: `hello` once subscribed, then a `card` per call routed here."""
    subscription = live.subscribe(cards.topics(session.operator_id, session.queues))

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        try:
            hello = orjson.dumps(describe(session))
            yield b"retry: 500\nevent: hello\ndata: " + hello + b"\n\n"
            while loop.time() < ends:
                payload = await subscription.get(HEARTBEAT_SECONDS)
                # A page that leaves is noticed by the response, which cancels this stream.
                if subscription.closed:
                    break
                if payload is None:
                    yield b": keep-alive\n\n"
                    continue
                yield b"event: card\ndata: " + payload + b"\n\n"
        finally:
            subscription.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/desk/api/cards/{call_id}", response_class=OrjsonResponse)
async def card(
    call_id: CallId, session: DeskSession, store: StoreDep, catalogue: EventCatalogueDep
) -> OrjsonResponse:
    """The card of a call routed to this operator or one of their queues."""
    found = await cards.get(store, catalogue, call_id, session.operator_id, session.queues)
    if found is None:
        # The same answer whether the call is unknown or someone else's: no hint either way.
        raise NotFound(f"no call {call_id!r} routed to you")
    return json_response(found)


@router.post("/desk/api/cards/{call_id}/outcome", response_class=OrjsonResponse)
async def outcome(
    call_id: CallId,
    body: OutcomeIn,
    request: Request,
    session: DeskSession,
    store: StoreDep,
    catalogue: EventCatalogueDep,
    clock: ClockDep,
) -> OrjsonResponse:
    """The operator's word on the call: its actual reason, resolved, the offer's fate."""
    require_csrf_header(request)
    if await cards.get(store, catalogue, call_id, session.operator_id, session.queues) is None:
        raise NotFound(f"no call {call_id!r} routed to you")
    result = await record_outcome(store, catalogue, clock.now(), call_id, **body.kwargs())
    return json_response(result)


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operator_id: str | None = Field(None, pattern=NAME)
    queue: str | None = Field(None, pattern=NAME)


@router.post("/v1/calls/{call_id}/route", response_class=OrjsonResponse, tags=["inbound"])
async def route(
    call_id: CallId,
    body: RouteIn,
    store: StoreDep,
    live: LiveDep,
    catalogue: EventCatalogueDep,
    _: IvrKey,
) -> OrjsonResponse:
    """The IVR transferred the call to an operator or a queue: their desk shows the card."""
    if not body.operator_id and not body.queue:
        raise InvalidInput("operator_id", "give operator_id or queue")
    published = await cards.route(store, live, catalogue, call_id, body.operator_id, body.queue)
    # 202: kept, and the card follows as soon as the decision for this call lands.
    return json_response(
        {
            "call_id": call_id,
            "operator_id": body.operator_id,
            "queue": body.queue,
            "published": published,
        },
        200 if published else 202,
    )
