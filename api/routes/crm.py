"""Events in from CRMs: Bitrix24's outbound webhooks become customers and events.

    ONCRMCONTACTADD / ONCRMCONTACTUPDATE -> crm.contact.get -> the customer (name, phones,
                                            emails, the `bitrix24` identity) is created or
                                            updated; our other fields are kept
    ONCRMDEALADD                          -> crm.deal.get -> order_placed (order D<id>)
    ONCRMDEALUPDATE                       -> crm.deal.get -> order_status_changed by the
                                            configured stage map (WON -> delivered also
                                            sends order_delivered)
Other events are acknowledged and ignored. Event ids are derived from the deal and its
stage, so a webhook delivered twice changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request

from api.deps import StateDep
from api.responses import OrjsonResponse, json_response
from api.state import AppState
from connectors.crm.bitrix24 import Bitrix24, contact_body, parse_form
from core import directory
from core.customers import CustomerIn
from core.errors import NotFound, ProviderError, StoreUnavailable, Unauthorized
from core.events import Event
from core.ingest import ingest

router = APIRouter(prefix="/v1/crm", tags=["crm"])
log = logging.getLogger("forecall.crm")


def _bitrix(state: AppState) -> Bitrix24:
    for channel in state.channels.values():
        if isinstance(channel, Bitrix24):
            return channel
    raise NotFound("no Bitrix24 connector is configured (channels: {kind: bitrix24})")


@router.post("/bitrix24/events", response_class=OrjsonResponse)
async def bitrix24_event(request: Request, state: StateDep) -> OrjsonResponse:
    """A Bitrix24 outbound webhook, checked by its application token."""
    b24 = _bitrix(state)
    form = parse_form(await request.body())
    if not b24.verify(form):
        raise Unauthorized("auth[application_token] does not match the configured token")
    event, entity = form.get("event", "").upper(), form.get("data[FIELDS][ID]", "")
    if not entity.isdigit():
        return json_response({"event": event, "handled": False, "why": "no data[FIELDS][ID]"})
    try:
        if event in ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE"):
            customer_id = await _contact(state, b24, entity)
            return json_response({"event": event, "handled": True, "customer_id": customer_id})
        if event in ("ONCRMDEALADD", "ONCRMDEALUPDATE"):
            applied = await _deal(state, b24, entity, event == "ONCRMDEALADD")
            return json_response({"event": event, "handled": True, "events": applied})
    except ProviderError as exc:
        # Bitrix24 does not resend a webhook; a 503 at least shows in its log.
        log.warning("bitrix24 read failed", extra={"event": event, "code": exc.provider_code})
        raise StoreUnavailable(f"Bitrix24 did not answer: {exc.message}") from None
    return json_response({"event": event, "handled": False})


async def _contact(state: AppState, b24: Bitrix24, contact_id: str) -> str:
    contact = await b24.call("crm.contact.get", {"id": int(contact_id)})
    fields = contact_body(contact)
    customer_id = await state.store.find_customer("bitrix24", contact_id) or f"b24-{contact_id}"
    current: dict[str, Any] = {}
    raw = await state.store.get_customer(customer_id)
    if raw is not None:
        current = {k: v for k, v in orjson.loads(raw).items() if k not in ("id", "updated_at")}
    # The CRM owns the name and its identities; consents, preferences and the rest stay ours.
    kept = [
        i
        for i in current.get("identities", [])
        if i["kind"] not in {f["kind"] for f in fields["identities"]}
    ]
    body = {**current, "name": fields["name"], "identities": fields["identities"] + kept}
    await directory.put_customer(
        state.store,
        customer_id,
        CustomerIn.model_validate(body),
        state.settings.default_region,
        state.clock.now(),
    )
    return customer_id


async def _deal(state: AppState, b24: Bitrix24, deal_id: str, added: bool) -> int:
    deal = await b24.call("crm.deal.get", {"id": int(deal_id)})
    contact = str(deal.get("CONTACT_ID") or "")
    customer_id = await state.store.find_customer("bitrix24", contact) if contact else None
    if customer_id is None:
        return 0  # a deal of a contact we do not know yet: its contact webhook comes first
    now = state.clock.now()
    order = f"D{deal_id}"
    events: list[Event] = []
    if added:
        amount = float(deal.get("OPPORTUNITY") or 0)
        events.append(
            Event(
                f"b24:deal:{deal_id}:add",
                "order_placed",
                customer_id,
                now,
                {"order_id": order, "amount": amount},
            )
        )
    stage = str(deal.get("STAGE_ID") or "")
    status = b24.config.deal_stages.get(stage.split(":")[-1])
    if status is not None and not added:
        events.append(
            Event(
                f"b24:deal:{deal_id}:{stage}",
                "order_status_changed",
                customer_id,
                now,
                {"order_id": order, "status": status},
            )
        )
        if status == "delivered":
            events.append(
                Event(
                    f"b24:deal:{deal_id}:delivered",
                    "order_delivered",
                    customer_id,
                    now,
                    {"order_id": order},
                )
            )
    if events:
        await ingest(state.store, events, state.catalogue, now)
        await state.followups.on_events(events, now)
    return len(events)
