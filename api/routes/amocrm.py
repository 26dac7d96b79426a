"""Events in from amoCRM, and the end of its OAuth installation.

POST /v1/crm/amocrm/events/<webhook_secret>   the account's webhooks (form-encoded):
    contacts[add|update]  -> GET /api/v4/contacts/{id} -> the customer (name, phones,
                             emails, the `amocrm` identity) is created or updated
    leads[add]            -> GET /api/v4/leads/{id}?with=contacts -> order_placed (A<id>)
    leads[status|update]  -> the same read -> order_status_changed by `lead_statuses`
                             (142, won -> delivered, also sends order_delivered)
  A lead whose contact we do not know yet brings its contact in first. Deletions are
  acknowledged and not applied: erasing a customer is a 152-FZ request made to us.
  amoCRM retries a webhook that fails, so an unreachable API answers 503.

GET /v1/crm/amocrm/oauth?code=…&referer=<account>.amocrm.ru   the redirect_uri: the
  code is exchanged for tokens at once (it lives 20 minutes) and kept sealed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request

from api.deps import ChannelsDep, CrmSyncDep, connector
from api.responses import OrjsonResponse, json_response
from connectors.crm.amocrm import AmoCrm, contact_body, hooked, main_contact
from connectors.crm.forms import parse_form
from connectors.crm.oauth import Grant
from core.errors import InvalidInput, ProviderError, StoreUnavailable, Unauthorized
from proactive import crm_sync
from proactive.crm_sync import CrmSync

router = APIRouter(prefix="/v1/crm/amocrm", tags=["crm"])
log = logging.getLogger("forecall.crm")


@router.post("/events/{secret}", response_class=OrjsonResponse)
async def amocrm_event(
    secret: str, request: Request, channels: ChannelsDep, sync: CrmSyncDep
) -> OrjsonResponse:
    """An amoCRM webhook, checked by the secret in its URL and the account it names."""
    amo = connector(channels, AmoCrm, "{kind: amocrm}")
    form = parse_form(await request.body())
    if not amo.verify(secret, form):
        raise Unauthorized("the webhook URL's secret or account[subdomain] does not match")
    handled: list[dict[str, Any]] = []
    events = 0
    try:
        for entity, action, entity_id in hooked(form):
            if action == "delete":
                handled.append({"entity": entity, "id": entity_id, "applied": False})
            elif entity == "contacts":
                customer_id = await _contact(sync, amo, entity_id)
                handled.append({"entity": entity, "id": entity_id, "customer_id": customer_id})
            else:
                applied = await _lead(sync, amo, entity_id, added=action == "add")
                events += applied
                handled.append({"entity": entity, "id": entity_id, "events": applied})
    except ProviderError as exc:
        log.warning("amocrm read failed", extra={"code": exc.provider_code})
        raise StoreUnavailable(f"amoCRM did not answer: {exc.message}") from None
    return json_response({"handled": handled, "events": events})


@router.get("/oauth", response_class=OrjsonResponse)
async def amocrm_oauth(
    channels: ChannelsDep,
    code: str | None = Query(None, max_length=4096),
    referer: str | None = Query(None, max_length=255),
    error: str | None = Query(None, max_length=100),
) -> OrjsonResponse:
    """amoCRM's redirect after the integration is installed (its redirect_uri)."""
    amo = connector(channels, AmoCrm, "{kind: amocrm}")
    if error is not None:
        raise InvalidInput("error", f"amoCRM refused the installation: {error}")
    if not code:
        raise InvalidInput("code", "missing: open this URL from amoCRM's installation")
    account = (referer or "").split(".")[0].lower()
    if account != amo.config.account():
        raise InvalidInput("referer", f"not the configured account {amo.config.account()!r}")
    if amo.vault is None:
        raise InvalidInput("code", "this connector uses a long-lived token, not OAuth")
    try:
        await amo.vault.authorize(Grant("authorization_code", code))
    except ProviderError as exc:
        raise InvalidInput("code", exc.message) from None
    log.info("amocrm authorized", extra={"connector": amo.name})
    return json_response({"connected": amo.name, "account": account})


async def _contact(sync: CrmSync, amo: AmoCrm, contact_id: str) -> str:
    contact = await amo.get(f"/api/v4/contacts/{contact_id}")
    fields = contact_body(contact)
    return await sync.upsert_contact(("amocrm", contact_id, "amo-"), fields)


async def _lead(sync: CrmSync, amo: AmoCrm, lead_id: str, added: bool) -> int:
    lead = await amo.get(f"/api/v4/leads/{lead_id}", {"with": "contacts"})
    contact = main_contact(lead)
    if contact is None:
        return 0  # a lead without a contact is nobody we could talk to
    customer_id = await sync.store.find_customer("amocrm", contact)
    if customer_id is None:
        customer_id = await _contact(sync, amo, contact)
    stage = str(lead.get("status_id") or "")
    now = sync.clock.now()
    events = crm_sync.order_events(
        "amo",
        lead_id,
        f"A{lead_id}",
        customer_id,
        now,
        placed_amount=float(lead.get("price") or 0) if added else None,
        stage=stage,
        status=None if added else amo.config.lead_statuses.get(stage),
    )
    return await sync.apply(events)
