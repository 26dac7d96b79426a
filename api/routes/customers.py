"""Customers: the record, its identities, its profile, and erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import (
    ClockDep,
    DeskKey,
    EventCatalogueDep,
    IngestKey,
    OutboxDep,
    SettingsDep,
    StoreDep,
)
from api.responses import OrjsonResponse, json_response
from core.customers import Channel, Customer, CustomerIn
from core.errors import InvalidInput, NotFound
from core.identity import IdentityKind
from predictors import attributes, profile_codec
from profiles import directory

router = APIRouter(prefix="/v1", tags=["customers"])


@router.put("/customers/{customer_id}", response_model=Customer)
async def put_customer(
    customer_id: str,
    body: CustomerIn,
    store: StoreDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: IngestKey,
    response: Response,
) -> Customer:
    """Create or replace a customer record."""
    customer, created = await directory.put_customer(
        store, customer_id, body, settings.default_region, clock.now()
    )
    response.status_code = 201 if created else 200
    return customer


@router.get("/customers/{customer_id}", response_model=Customer)
async def get_customer(customer_id: str, store: StoreDep, _: DeskKey) -> Customer:
    """The stored customer record."""
    return await directory.get_customer(store, customer_id)


@router.get("/customers/{customer_id}/stops", response_class=OrjsonResponse)
async def get_stops(customer_id: str, store: StoreDep, _: DeskKey) -> OrjsonResponse:
    """The channels the customer has stopped ("стоп" replies, opt-outs recorded here)."""
    await directory.get_customer(store, customer_id)
    stopped = sorted(await store.stops(customer_id))
    return json_response({"customer_id": customer_id, "channels": stopped})


@router.put("/customers/{customer_id}/stops/{channel}", response_class=OrjsonResponse)
async def stop_channel(
    customer_id: str, channel: Channel, store: StoreDep, clock: ClockDep, _: DeskKey
) -> OrjsonResponse:
    """Record an opt-out taken by an operator or another system: it holds at once."""
    return await _set_stop(store, clock.now(), customer_id, channel, True)


@router.delete("/customers/{customer_id}/stops/{channel}", response_class=OrjsonResponse)
async def resume_channel(
    customer_id: str, channel: Channel, store: StoreDep, clock: ClockDep, _: DeskKey
) -> OrjsonResponse:
    """The customer asked to hear from us on this channel again."""
    return await _set_stop(store, clock.now(), customer_id, channel, False)


async def _set_stop(
    store: StoreDep, now: float, customer_id: str, channel: Channel, stopped: bool
) -> OrjsonResponse:
    await directory.get_customer(store, customer_id)  # 404 for an unknown customer
    await store.set_stop(customer_id, channel.value, stopped, now)
    return json_response({"customer_id": customer_id, "channel": channel.value, "stopped": stopped})


@router.delete("/customers/{customer_id}", status_code=204)
async def erase_customer(
    customer_id: str, store: StoreDep, outbox: OutboxDep, _: IngestKey
) -> Response:
    """Erase the customer everywhere: record, identities, profile, event traces, stop-list,
    incident ledgers and scopes, calls, examples, documents, and every message queued,
    scheduled or sent; no byte of them stays in the store's files or keys."""
    await directory.erase(store, outbox, customer_id)
    return Response(status_code=204)


@router.get("/customers/{customer_id}/profile", response_class=OrjsonResponse)
async def get_profile(
    customer_id: str, store: StoreDep, catalogue: EventCatalogueDep, clock: ClockDep, _: DeskKey
) -> OrjsonResponse:
    """Profile attributes as of now (see docs/profile.md)."""
    record, blob = await store.get_profile(customer_id)
    if record is None and blob is None:
        raise NotFound(f"no customer {customer_id!r}")
    derived = attributes.derive(profile_codec.decode_state(blob), catalogue, clock.now())
    return json_response({"customer_id": customer_id, "known": record is not None, **derived})


class IdentifyBody(BaseModel):
    kind: IdentityKind
    value: str


@router.get("/identify", response_class=OrjsonResponse)
async def identify(
    store: StoreDep,
    settings: SettingsDep,
    _: DeskKey,
    phone: Annotated[str | None, Query()] = None,
    email: Annotated[str | None, Query()] = None,
    telegram: Annotated[str | None, Query()] = None,
    whatsapp: Annotated[str | None, Query()] = None,
    viber: Annotated[str | None, Query()] = None,
    vk: Annotated[str | None, Query()] = None,
    chat: Annotated[str | None, Query()] = None,
) -> OrjsonResponse:
    """Find a customer by one identity: `?phone=`, `?email=`, `?telegram=` ..."""
    given = {
        k: v
        for k, v in dict(
            phone=phone,
            email=email,
            telegram=telegram,
            whatsapp=whatsapp,
            viber=viber,
            vk=vk,
            chat=chat,
        ).items()
        if v is not None
    }
    if len(given) != 1:
        raise InvalidInput("query", "give exactly one identity, e.g. ?phone=+79161234567")
    [(kind, value)] = given.items()
    return await _identify(store, settings, IdentifyBody(kind=IdentityKind(kind), value=value))


@router.post("/identify", response_class=OrjsonResponse)
async def identify_post(
    body: IdentifyBody, store: StoreDep, settings: SettingsDep, _: DeskKey
) -> OrjsonResponse:
    """Find a customer by one identity sent in the body (keeps phones out of URLs)."""
    return await _identify(store, settings, body)


async def _identify(store: StoreDep, settings: SettingsDep, body: IdentifyBody) -> OrjsonResponse:
    customer_id = await directory.identify(store, body.kind, body.value, settings.default_region)
    if customer_id is None:
        raise NotFound(f"no customer with this {body.kind.value}")
    return json_response({"customer_id": customer_id})
