"""Provider callbacks (delivery receipts, replies) and the dead-letter queue."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from api.deps import (
    ChannelsDep,
    ClockDep,
    CrmNotesDep,
    FollowupsDep,
    OutboxDep,
    SettingsDep,
    StoreDep,
    require,
)
from api.responses import OrjsonResponse, json_response
from connectors.channels.base import CallbackRejected, is_stop_word
from connectors.outbox import Outbox
from connectors.store import CustomerStore
from core.apikeys import ApiKey
from core.errors import InvalidInput, NotFound, Unauthorized
from core.identity import IdentityKind, normalize
from core.messages import Status
from predictors.policy import ADDRESS_KIND

router = APIRouter(prefix="/v1", tags=["channels"])
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
log = logging.getLogger("forecall.callbacks")

# How long a receipt for a provider id we do not know yet waits for the dispatcher; an id
# of a message that is not ours (or long erased) costs the provider this much once.
EARLY_RECEIPT_WAIT = 2.0
_STATUS = {"delivered": Status.delivered, "read": Status.read, "failed": Status.failed}


@router.post("/channels/{name}/callback", response_class=OrjsonResponse)
async def callback(
    name: str,
    request: Request,
    channels: ChannelsDep,
    store: StoreDep,
    outbox: OutboxDep,
    followups: FollowupsDep,
    crm: CrmNotesDep,
    settings: SettingsDep,
    clock: ClockDep,
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
    now = clock.now()
    updated = stopped = 0
    ours = await _our_ids(
        outbox,
        name,
        {e.provider_message_id for e in events if e.message_id is None and e.provider_message_id},
    )
    for event in events:
        if event.kind == "reply":
            replier = await _replier(store, settings.default_region, name, event.address)
            if replier is not None:
                stop = bool(event.text and is_stop_word(event.text))
                if stop:
                    await store.set_stop(replier, name, True, now)
                    stopped += 1
                await followups.on_reply(replier, stop, now)
                if not stop and event.text and crm is not None:
                    await crm.on_reply(replier, name, event.text, now)
            continue
        message_id = event.message_id or ours.get(event.provider_message_id or "")
        if message_id is not None:
            status = _STATUS[event.kind]
            if await outbox.set_status(message_id, status, now, event.error):
                updated += 1
    log.info(
        "callback",
        extra={"channel": name, "events": len(events), "updated": updated, "stopped": stopped},
    )
    return json_response({"events": len(events), "updated": updated, "stopped": stopped})


async def _our_ids(outbox: Outbox, channel: str, provider_ids: set[str]) -> dict[str, str]:
    """Our message ids for the provider's. A receipt can beat the dispatcher, which
    records the provider's id just after the provider answered (WhatsApp's "sent" comes
    within milliseconds): an id not known yet is looked up again for a moment."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + EARLY_RECEIPT_WAIT
    while True:
        missing = [p for p in provider_ids if p not in found]
        looked = await asyncio.gather(*(outbox.by_provider_id(channel, p) for p in missing))
        found.update({p: m for p, m in zip(missing, looked, strict=True) if m is not None})
        if len(found) == len(provider_ids) or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.05)


async def _replier(
    store: CustomerStore, region: str, channel: str, address: str | None
) -> str | None:
    """The customer who wrote from `address`. Providers write addresses their own way
    (SMSC sends "79161234567", mail hooks keep the sender's case), so it is normalized
    like a stored identity first; an address that cannot be one matches nobody."""
    if not address:
        return None
    kind = ADDRESS_KIND.get(channel, channel)
    if kind in IdentityKind.__members__:
        try:
            address = normalize(IdentityKind(kind), address, region, kind)
        except InvalidInput:
            return None
    return await store.find_customer(kind, address)


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
            "error": found.error,
            "provider_message_id": found.provider_message_id,
        }
    )
