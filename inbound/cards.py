"""The operator's card for a call: built once after the decision, kept with the call, and
pushed live to the operator or queue the IVR routed the call to.

The card and the route are kept beside the call record, in the store's call table, under
`<call_id>#card` and `<call_id>#route` ("#" never occurs in a call id): they share the
call's week-long lifetime and its erasure with the customer, in both stores.

The route may come with the inbound request (`context.operator_id` / `context.queue`) or
later from the IVR's transfer (`route()`). Either order works: whoever writes second
finds the other's record and publishes.
"""

from __future__ import annotations

from typing import Any

import orjson

from connectors.store import Store
from core.events import Catalogue
from inbound.answer import answer
from inbound.decision import Facts
from inbound.live import Hub
from predictors import attributes, profile_codec
from predictors.arbitration import Decision

CARD, ROUTE = "#card", "#route"


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


async def build(
    store: Store, catalogue: Catalogue, found: Facts, decision: Decision
) -> dict[str, Any]:
    """The inbound answer, plus what only the operator needs: every incident, consents
    per channel and stops, recent contacts and messages."""
    card = answer(found, decision)
    record = found.record or {}
    history: dict[str, Any] = {"last_contact": None, "contacts_30d": 0, "engagement": None}
    stopped: list[str] = []
    if found.customer_id is not None:
        _, blob = await store.get_profile(found.customer_id)
        derived = attributes.derive(profile_codec.decode_state(blob), catalogue, found.now)
        history = {k: derived[k] for k in ("last_contact", "contacts_30d", "engagement")}
        windows = derived["windows"]
        history["messages_30d"] = {
            kind: windows[kind]["30d"]
            for kind in ("message_delivered", "message_replied", "email_opened")
            if kind in windows
        }
        stopped = sorted(await store.stops(found.customer_id))
    card.update(
        ts=found.now,
        channel=found.channel,
        utterance=found.utterance,
        incidents=[
            {"id": i.id, "title": i.title, "eta": i.eta.isoformat() if i.eta else None}
            for i in found.incidents
        ],
        # What the operator says: the script, then the best offer when one may be made.
        next_steps=[s for s in (card["operator"]["script"], card["operator"]["offer"]) if s],
        consent={
            "marketing": card["customer"]["marketing_consent"],
            "marketing_by_channel": _consents(record),
            "stopped": stopped,
            # An offer may be made only with consent and while no outage touches them,
            # the same rule the arbitration applied to the ranked offers.
            "offer_allowed": card["customer"]["marketing_consent"] and not found.incidents,
        },
        history=history,
        route=None,
    )
    return card


async def keep(
    store: Store,
    hub: Hub,
    catalogue: Catalogue,
    found: Facts,
    decision: Decision,
    context: dict[str, str],
) -> None:
    """After the decision: store the card, and publish it if the call is routed."""
    card = await build(store, catalogue, found, decision)
    await store.put_call(found.call_id + CARD, found.customer_id, orjson.dumps(card))
    given = {k: context[k] for k in ("operator_id", "queue") if context.get(k)}
    if given:
        await store.put_call(found.call_id + ROUTE, found.customer_id, orjson.dumps(given))
        route: dict[str, Any] | None = given
    else:
        raw = await store.get_call(found.call_id + ROUTE)
        route = orjson.loads(raw) if raw else None
    if route is not None:
        await _publish(hub, {**card, "route": route})


async def route(
    store: Store, hub: Hub, call_id: str, operator_id: str | None, queue: str | None
) -> bool:
    """The IVR transferred the call: remember where, and publish the card if it is built;
    True when published. A route that comes before the decision is kept: the decision
    publishes when it lands (`keep`)."""
    raw_call = await store.get_call(call_id)
    customer_id = orjson.loads(raw_call)["customer_id"] if raw_call else None
    given = {k: v for k, v in (("operator_id", operator_id), ("queue", queue)) if v}
    await store.put_call(call_id + ROUTE, customer_id, orjson.dumps(given))
    raw_card = await store.get_call(call_id + CARD)
    if raw_card is None:
        return False
    await _publish(hub, {**orjson.loads(raw_card), "route": given})
    return True


async def _publish(hub: Hub, card: dict[str, Any]) -> None:
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
    store: Store, call_id: str, operator_id: str | None, queues: tuple[str, ...]
) -> dict[str, Any] | None:
    """The card, if this operator may see it: routed to them or to one of their queues."""
    raw_route = await store.get_call(call_id + ROUTE)
    if raw_route is None:
        return None
    route = orjson.loads(raw_route)
    if not visible(route, operator_id, queues):
        return None
    raw_card = await store.get_call(call_id + CARD)
    if raw_card is None:
        return None
    card: dict[str, Any] = {**orjson.loads(raw_card), "route": route}
    return card
