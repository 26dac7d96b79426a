"""Events in from CRMs: Bitrix24's outbound webhooks become customers and events.

    ONCRMCONTACTADD / ONCRMCONTACTUPDATE -> crm.contact.get -> the customer (name, phones,
                                            emails, the `bitrix24` identity) is created or
                                            updated; our other fields are kept
    ONCRMDEALADD                          -> crm.deal.get -> order_placed (order D<id>)
    ONCRMDEALUPDATE                       -> crm.deal.get -> order_status_changed by the
                                            configured stage map (WON -> delivered also
                                            sends order_delivered)
    ONVOXIMPLANTCALLEND                   -> contact (from the form, no REST read): ivr for
                                            incoming and redirected calls, desk for
                                            outgoing and callbacks; reason "unknown",
                                            resolved false, call_id = CALL_ID
A call's customer is the contact's (CRM_ENTITY_TYPE CONTACT), else the phone number's;
an unknown caller, an informational robot call and an outgoing call that did not
connect are acknowledged and not counted. Missed incoming calls count: the customer
tried to reach us. Other events are acknowledged and ignored. Event ids are derived from
the deal and its stage, or from the call (b24:call:<CALL_ID>), so a webhook delivered
twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from api.deps import ChannelsDep, CrmSyncDep, connector
from api.responses import OrjsonResponse, json_response
from connectors.crm.bitrix24 import Bitrix24, contact_body, parse_form
from core.batch import ID_PATTERN
from core.errors import InvalidInput, ProviderError, StoreUnavailable, Unauthorized
from core.events import Event
from core.identity import IdentityKind
from predictors.profile import UNKNOWN_REASON
from proactive import crm_sync
from proactive.crm_sync import CrmSync
from profiles import directory

router = APIRouter(prefix="/v1/crm", tags=["crm"])
log = logging.getLogger("forecall.crm")
# CALL_TYPE -> the contact's channel: 1 outgoing, 2 incoming, 3 incoming redirected,
# 4 callback. 5, an informational robot call, is no contact.
CALL_CHANNELS = {"1": "desk", "2": "ivr", "3": "ivr", "4": "desk"}
# No reason is known for a call the portal registered; the profile keeps the last known
# reason beside it (predictors/profile.py).
CALL_REASON = UNKNOWN_REASON


@router.post("/bitrix24/events", response_class=OrjsonResponse)
async def bitrix24_event(
    request: Request, channels: ChannelsDep, sync: CrmSyncDep
) -> OrjsonResponse:
    """A Bitrix24 outbound webhook, checked by its application token."""
    b24 = connector(channels, Bitrix24, "{kind: bitrix24}")
    form = parse_form(await request.body())
    if not b24.verify(form):
        raise Unauthorized("auth[application_token] does not match the configured token")
    event, entity = form.get("event", "").upper(), form.get("data[FIELDS][ID]", "")
    if event == "ONVOXIMPLANTCALLEND":  # the call is in the form: no data[FIELDS][ID]
        return json_response({"event": event, **await _call(sync, form)})
    if not entity.isdigit():
        return json_response({"event": event, "handled": False, "why": "no data[FIELDS][ID]"})
    try:
        if event in ("ONCRMCONTACTADD", "ONCRMCONTACTUPDATE"):
            customer_id = await _contact(sync, b24, entity)
            return json_response({"event": event, "handled": True, "customer_id": customer_id})
        if event in ("ONCRMDEALADD", "ONCRMDEALUPDATE"):
            applied = await _deal(sync, b24, entity, event == "ONCRMDEALADD")
            return json_response({"event": event, "handled": True, "events": applied})
    except ProviderError as exc:
        # Bitrix24 does not resend a webhook; a 503 at least shows in its log.
        log.warning("bitrix24 read failed", extra={"event": event, "code": exc.provider_code})
        raise StoreUnavailable(f"Bitrix24 did not answer: {exc.message}") from None
    return json_response({"event": event, "handled": False})


async def _contact(sync: CrmSync, b24: Bitrix24, contact_id: str) -> str:
    contact = await b24.call("crm.contact.get", {"id": int(contact_id)})
    fields = contact_body(contact)
    return await sync.upsert_contact(("bitrix24", contact_id, "b24-"), fields)


async def _deal(sync: CrmSync, b24: Bitrix24, deal_id: str, added: bool) -> int:
    deal = await b24.call("crm.deal.get", {"id": int(deal_id)})
    contact = str(deal.get("CONTACT_ID") or "")
    customer_id = await sync.store.find_customer("bitrix24", contact) if contact else None
    if customer_id is None:
        return 0  # a deal of a contact we do not know yet: its contact webhook comes first
    now = sync.clock.now()
    stage = str(deal.get("STAGE_ID") or "")
    events = crm_sync.order_events(
        "b24",
        deal_id,
        f"D{deal_id}",
        customer_id,
        now,
        placed_amount=float(deal.get("OPPORTUNITY") or 0) if added else None,
        stage=stage,
        status=None if added else b24.config.deal_stages.get(stage.split(":")[-1]),
    )
    return await sync.apply(events)


async def _call(sync: CrmSync, form: Mapping[str, str]) -> dict[str, Any]:
    call_id, kind = form.get("data[CALL_ID]", ""), form.get("data[CALL_TYPE]", "")
    channel = CALL_CHANNELS.get(kind)
    if channel is None:
        return {"handled": False, "why": "not a call with a customer (CALL_TYPE 1-4)"}
    event_id = f"b24:call:{call_id}"
    if not call_id or not ID_PATTERN.match(event_id):
        return {"handled": False, "why": "no usable data[CALL_ID]"}
    if kind == "1" and form.get("data[CALL_FAILED_CODE]") != "200":
        # We dialled and nobody answered: the customer did not contact us.
        return {"handled": False, "why": "an outgoing call that did not connect"}
    customer_id = await _caller(sync, form)
    if customer_id is None:
        return {"handled": False, "why": "no customer has this contact or phone number"}
    now = sync.clock.now()
    data = {"channel": channel, "reason": CALL_REASON, "resolved": False, "call_id": call_id}
    events = [
        Event(
            event_id,
            "contact",
            customer_id,
            _started(form.get("data[CALL_START_DATE]", ""), now),
            sync.catalogue.check(0, "contact", data),
        )
    ]
    applied = await sync.apply(events)
    return {"handled": True, "customer_id": customer_id, "events": applied}


async def _caller(sync: CrmSync, form: Mapping[str, str]) -> str | None:
    entity = form.get("data[CRM_ENTITY_ID]", "")
    if form.get("data[CRM_ENTITY_TYPE]", "").upper() == "CONTACT" and entity.isdigit():
        found = await sync.store.find_customer("bitrix24", entity)
        if found is not None:
            return found
    try:
        return await directory.identify(
            sync.store,
            IdentityKind.phone,
            form.get("data[PHONE_NUMBER]", ""),
            sync.default_region,
        )
    except InvalidInput:  # a hidden number, an internal extension
        return None


def _started(raw: str, now: float) -> float:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return now
    # A skewed portal clock must not date a contact in the future.
    return min(moment.timestamp(), now) if moment.tzinfo is not None else now
