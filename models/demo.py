"""Demo data: a simulated population loaded through the same code paths as the API.

The population's older history is ingested at once; its last weeks are handed back, so
that the caller can play them through the outbound machinery in time order
(`proactive.history`) and the demo starts with follow-ups already sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connectors.store import Store
from core.batch import validate_batch
from core.customers import CustomerIn
from core.events import Catalogue, Event
from core.incidents import IncidentIn
from profiles import directory
from profiles.ingest import ingest

log = logging.getLogger("forecall.demo")
BATCH = 1000
HISTORY_DAYS = 14  # the weeks of outbound history the demo plays through
NEXT_STEP = "специалист разберётся и перезвонит вам в течение двух рабочих дней"


async def load_demo(
    store: Store,
    catalogue: Catalogue,
    customers: int,
    default_region: str,
    now: float,
    seed: int = 7,
    history_days: int = HISTORY_DAYS,
) -> list[Event] | None:
    """Simulate `customers` whose history ends now and store them, with every event older
    than `history_days`; the newer events come back, oldest first, not yet ingested.
    None when the population is already there (a restart)."""
    from models.simulator import SimulatorConfig, simulate

    world = simulate(
        SimulatorConfig(customers=customers, end=datetime.fromtimestamp(now, UTC), seed=seed)
    )
    first = world.customers[0]["id"]
    if await store.get_customer(first) is not None:
        log.info("demo population already loaded", extra={"customers": customers})
        return None
    for raw in world.customers:
        body = {k: v for k, v in raw.items() if k != "id"}
        await directory.put_customer(
            store, raw["id"], CustomerIn.model_validate(body), default_region, now
        )
    for raw in world.events:
        if raw["type"] == "contact" and not raw["data"].get("resolved", True):
            # What an operator promises an unresolved caller: the memo scenario's trigger.
            raw["data"]["next_step"] = NEXT_STEP
    events: list[Event] = []
    for start in range(0, len(world.events), BATCH):
        chunk = world.events[start : start + BATCH]
        events += validate_batch({"events": chunk}, catalogue, BATCH, now)
    split = now - history_days * 86400.0
    older = [e for e in events if e.ts < split]
    for start in range(0, len(older), BATCH * 10):
        await ingest(store, older[start : start + BATCH * 10], catalogue, now)
    log.info(
        "demo population loaded",
        extra={"customers": len(world.customers), "events": len(older)},
    )
    return sorted((e for e in events if e.ts >= split), key=lambda e: e.ts)


# Every channel a simulated customer may prefer delivers to the sandbox inbox.
DEMO_CHANNELS = {
    name: {"kind": "sandbox"} for name in ("sms", "email", "telegram", "whatsapp", "viber", "push")
}


def demo_incident(now: float) -> IncidentIn:
    """The outage the demo opens with: Moscow's internet customers hear of it at once
    (critical: quiet hours do not hold it back), and their calls are answered about it."""
    return IncidentIn.model_validate(
        {
            "id": "DEMO-1",
            "title": "Нет интернета в Москве: авария на магистральном узле",
            "scope": {"regions": ["RU-MOW"], "services": ["internet"]},
            "starts_at": datetime.fromtimestamp(now - 1800, UTC),
            "eta": datetime.fromtimestamp(now - now % 3600 + 4 * 3600, UTC),
            "severity": "critical",
        }
    )
