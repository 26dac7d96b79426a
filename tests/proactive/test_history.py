"""Playing past events through the outbound machinery (the demo's weeks of history): the
scenario sends at the event's time, on the customer's channel, into the sandbox inbox,
and the simulated answer moves the message on; erasing the customer empties the inbox."""

from __future__ import annotations

import httpx

from connectors.channels import open_channel
from connectors.channels.base import Channel, OutboundMessage, StoreBound
from connectors.channels.sandbox import recent
from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import FixedClock
from core.customers import CustomerIn
from core.events import Catalogue, Event
from predictors.scenarios import BUILTIN, load_scenarios
from proactive.followups import Followups, stats_id
from proactive.history import Answers, _share, play
from profiles import directory
from tests.conftest import CUSTOMER, NOW

DAY = 86400.0


async def test_past_events_are_sent_at_their_time_into_the_sandbox_and_answered(
    store: Store, outbox: Outbox
) -> None:
    catalogue = Catalogue.with_extensions()
    app_clock = FixedClock(NOW)
    async with httpx.AsyncClient() as client:
        channels: dict[str, Channel] = {
            name: open_channel(name, {"kind": "sandbox"}, client) for name in ("telegram", "sms")
        }
        for channel in channels.values():
            assert isinstance(channel, StoreBound)
            channel.bind(store, app_clock)
        await directory.put_customer(store, "c1", CustomerIn.model_validate(CUSTOMER), "RU", NOW)
        followups = Followups(
            store, outbox, load_scenarios(BUILTIN, catalogue), catalogue, set(channels)
        )
        at = NOW - 3 * DAY  # 14:06 in Moscow: no quiet hours
        shipped = catalogue.check(
            0, "order_status_changed", {"order_id": "A-1", "status": "shipped"}
        )
        events = [Event("e1", "order_status_changed", "c1", at, shipped)]

        played = await play(
            store,
            outbox,
            catalogue,
            followups,
            channels,
            events,
            NOW,
            time_zone="Europe/Moscow",
            app_clock=app_clock,
            answers=Answers(),
        )

        assert played.sent == 1
        [message] = await recent(store, 10)
        assert message["channel"] == "telegram"  # the customer's first preference
        assert message["text"].startswith("Заказ A-1: передан в доставку")
        assert at <= message["at"] < at + 3600  # stamped with the played time, not now
        sent = await outbox.get(message["id"])
        assert sent is not None
        share = _share(message["id"])
        expected = "read" if share < 0.6 else "delivered" if share < 0.95 else "sent"
        assert sent.status.value == expected
        counters = await store.incident_counts(stats_id("order_status"))
        assert counters.get("treated") == 1
        # Back on the service's clock afterwards: a message now is stamped now.
        await channels["sms"].send(OutboundMessage("m-now", "c1", "sms", "+79161234567", "Тест"))
        assert (await recent(store, 1))[0]["at"] == NOW

        assert await store.erase_customer("c1")
        assert await recent(store, 10) == []
