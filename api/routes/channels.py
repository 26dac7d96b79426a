"""Provider callbacks (delivery receipts, replies) and the dead-letter queue; what a
callback means is proactive/receipts.py and proactive/replies.py."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from api.deps import ChannelsDep, ClockDep, OutboxDep, ReceiptsDep, RepliesDep, require
from api.responses import OrjsonResponse, json_response
from connectors.channels.base import CallbackRejected
from core.apikeys import ApiKey
from core.errors import NotFound, Unauthorized

router = APIRouter(prefix="/v1", tags=["channels"])
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
log = logging.getLogger("forecall.callbacks")


@router.post("/channels/{name}/callback", response_class=OrjsonResponse)
async def callback(
    name: str,
    request: Request,
    channels: ChannelsDep,
    receipts: ReceiptsDep,
    replies: RepliesDep,
) -> OrjsonResponse:
    """A provider's delivery receipt or a customer's reply; checked by the provider's
    signature, not an API key. A reply of "стоп" stops the channel at once."""
    channel = channels.get(name)
    if channel is None:
        raise NotFound(f"no channel {name!r}")
    try:
        events = channel.parse_callback(dict(request.headers), await request.body())
    except CallbackRejected as exc:
        raise Unauthorized(f"callback rejected: {exc}") from None
    updated = await receipts.apply(name, events)
    stopped = await replies.apply(name, events)
    log.info(
        "callback",
        extra={"channel": name, "events": len(events), "updated": updated, "stopped": stopped},
    )
    return json_response({"events": len(events), "updated": updated, "stopped": stopped})


@router.get("/channels/{name}/callback", response_class=PlainTextResponse)
async def verify_subscription(
    name: str, request: Request, channels: ChannelsDep
) -> PlainTextResponse:
    """A provider's webhook handshake (WhatsApp's hub.challenge): the challenge back when
    the verify token matches."""
    channel = channels.get(name)
    verify = getattr(channel, "verify_subscription", None)
    if channel is None or verify is None:
        raise NotFound(f"no channel {name!r} with a subscription handshake")
    challenge = verify(dict(request.query_params))
    if challenge is None:
        raise Unauthorized("the verify token does not match")
    return PlainTextResponse(challenge)


@router.get("/outbox/dead", response_class=OrjsonResponse)
async def dead_letters(
    outbox: OutboxDep, _: AdminKey, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> OrjsonResponse:
    """Messages that exhausted their retries, newest first."""
    dead = await outbox.dead_letters(limit)
    return json_response(
        [
            {
                "id": m.id,
                "customer_id": m.customer_id,
                "group": m.group,
                "channel": m.route.channel,
                "attempts": m.attempts,
                "error": m.error,
                "updated_at": m.updated_at,
            }
            for m in dead
        ]
    )


@router.post("/outbox/dead/{message_id}/revive", response_class=OrjsonResponse)
async def revive(
    message_id: str, outbox: OutboxDep, clock: ClockDep, _: AdminKey
) -> OrjsonResponse:
    """Send a dead letter again."""
    if not await outbox.revive(message_id, clock.now()):
        raise NotFound(f"no dead letter {message_id!r}")
    return json_response({"id": message_id, "status": "pending"})


@router.get("/messages/{message_id}", response_class=OrjsonResponse)
async def message(message_id: str, outbox: OutboxDep, _: AdminKey) -> OrjsonResponse:
    """One outbound message and its status."""
    found = await outbox.get(message_id)
    if found is None:
        raise NotFound(f"no message {message_id!r}")
    return json_response(
        {
            "id": found.id,
            "customer_id": found.customer_id,
            "group": found.group,
            "status": found.status.value,
            "channel": found.route.channel,
            "step": found.step,
            "attempts": found.attempts,
            # Why it has not gone out yet ("deferred: <reason>") or why it failed.
            "error": found.error,
            "due_at": found.due_at,
            "provider_message_id": found.provider_message_id,
        }
    )
