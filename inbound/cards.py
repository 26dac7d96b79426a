"""The operator's card for a call: built from the call's one record (inbound/call_log.py)
and the customer's profile when the desk asks for it, and pushed live to the operator or
queue the IVR routed the call to. The IVR's answer stays lean; the card is the long read.

The route may come with the inbound request (`context.operator_id` / `context.queue`,
kept in the call record) or later from the IVR's transfer (`route()`), kept beside the
call record under `<call_id>#route` ("#" never occurs in a call id): it shares the call's
week-long lifetime and its erasure with the customer, in both stores. Either order
works: whoever writes second finds the other's record and publishes.
"""

from __future__ import annotations

from typing import Any

import orjson

from connectors.store import Store
from core.events import Catalogue
from inbound.call_log import ROUTE
from inbound.live import Hub
from predictors import attributes, profile_codec


def topics(operator_id: str | None, queues: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The live topics a page listens to, and a routed card is published to."""
    found = [f"op:{operator_id}"] if operator_id else []
    return found + [f"q:{q}" for q in queues]


def visible(route: dict[str, Any], operator_id: str | None, queues: tuple[str, ...]) -> bool:
    """An operator sees a call routed to them by name, or to a queue they work."""
    if route.get("operator_id"):
        return bool(route["operator_id"] == operator_id)
    return bool(route.get("queue") in queues)


def _consents(record: dict[str, Any]) -> dict[str, bool]:
    """Marketing consent per channel: the latest statement on each channel wins."""
    latest: dict[str, tuple[str, bool]] = {}
    for consent in record.get("consents", []):
        if consent.get("purpose") != "marketing":
            continue
        seen = latest.get(consent["channel"])
        if seen is None or consent["at"] > seen[0]:
            latest[consent["channel"]] = (consent["at"], bool(consent["granted"]))
    return {channel: granted for channel, (_, granted) in sorted(latest.items())}


async def build(store: Store, catalogue: Catalogue, call: dict[str, Any]) -> dict[str, Any]:
    """The call's answer, plus what only the operator needs: every incident, consents per
    channel and stops, recent contacts and messages. Built when the desk asks (or the
    card is pushed to it), from the call record and the customer's profile as it is now."""
    card: dict[str, Any] = dict(call["answer"])
    record: dict[str, Any] = {}
    history: dict[str, Any] = {"last_contact": None, "contacts_30d": 0, "engagement": None}
    stopped: list[str] = []
    customer_id = call["customer_id"]
    if customer_id is not None:
        raw, blob = await store.get_profile(customer_id)
        record = orjson.loads(raw) if raw else {}
        derived = attributes.derive(profile_codec.decode_state(blob), catalogue, call["ts"])
        history = {k: derived[k] for k in ("last_contact", "contacts_30d", "engagement")}
        windows = derived["windows"]
        history["messages_30d"] = {
            kind: windows[kind]["30d"]
            for kind in ("message_delivered", "message_replied", "email_opened")
            if kind in windows
        }
        stopped = sorted(await store.stops(customer_id))
    consent = bool(card["customer"] and card["customer"]["marketing_consent"])
    card.update(
        ts=call["ts"],
        channel=call["channel"],
        utterance=call["utterance"],
        incidents=call["incidents"],
        # What the operator says: the script, then the best offer when one may be made.
        next_steps=[s for s in (card["operator"]["script"], card["operator"]["offer"]) if s],
        consent={
            "marketing": consent,
            "marketing_by_channel": _consents(record),
            "stopped": stopped,
            # An offer may be made only with consent and while no outage touches them,
            # the same rule the arbitration applied to the ranked offers.
            "offer_allowed": consent and not call["incidents"],
        },
        history=history,
        route=call["route"],
    )
    return card


async def _routed(
    store: Store, call_id: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The call record and its route: the IVR's transfer, else the route the inbound
    request named; one read."""
    raw_call, raw_route = await store.get_calls([call_id, call_id + ROUTE])
    call = orjson.loads(raw_call) if raw_call else None
    if raw_route is not None:
        return call, orjson.loads(raw_route)
    return call, call["route"] if call else None


async def route(
    store: Store,
    hub: Hub,
    catalogue: Catalogue,
    call_id: str,
    operator_id: str | None,
    queue: str | None,
) -> bool:
    """The IVR transferred the call: remember where, and publish the card if the call is
    recorded; True when published. A route that comes before the call's record is kept:
    the record's writer publishes it when it lands (inbound/call_log.py)."""
    given = {k: v for k, v in (("operator_id", operator_id), ("queue", queue)) if v}
    raw_call = await store.get_call(call_id)
    call = orjson.loads(raw_call) if raw_call else None
    await store.put_call(
        call_id + ROUTE, call["customer_id"] if call else None, orjson.dumps(given)
    )
    if call is None:
        raw_call = await store.get_call(call_id)  # written meanwhile: its writer missed us
        if raw_call is None:
            return False
        call = orjson.loads(raw_call)
    await publish(store, hub, catalogue, {**call, "route": given})
    return True


async def publish(store: Store, hub: Hub, catalogue: Catalogue, call: dict[str, Any]) -> None:
    """Push a routed call's card to its operator, or else to its queue."""
    card = await build(store, catalogue, call)
    route = card["route"]
    payload = orjson.dumps(card)
    # A call routed to a named operator goes to them alone, not to their whole queue.
    if route.get("operator_id"):
        targets = topics(route["operator_id"])
    else:
        targets = topics(None, [route["queue"]])
    for topic in targets:
        await hub.publish(topic, payload)


async def get(
    store: Store,
    catalogue: Catalogue,
    call_id: str,
    operator_id: str | None,
    queues: tuple[str, ...],
) -> dict[str, Any] | None:
    """The card, if this operator may see it: routed to them or to one of their queues."""
    call, routed = await _routed(store, call_id)
    if call is None or routed is None or not visible(routed, operator_id, queues):
        return None
    return await build(store, catalogue, {**call, "route": routed})
