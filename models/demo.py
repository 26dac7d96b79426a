"""Demo data: a simulated population loaded through the same code paths as the API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from connectors.store import Store
from core.batch import validate_batch
from core.customers import CustomerIn
from core.events import Catalogue
from profiles import directory
from profiles.ingest import ingest

log = logging.getLogger("forecall.demo")
BATCH = 1000


async def load_demo(
    store: Store,
    catalogue: Catalogue,
    customers: int,
    default_region: str,
    now: float,
    seed: int = 7,
) -> int:
    """Simulate `customers` whose history ends now and store them; skip if already there."""
    from models.simulator import SimulatorConfig, simulate

    world = simulate(
        SimulatorConfig(customers=customers, end=datetime.fromtimestamp(now, UTC), seed=seed)
    )
    first = world.customers[0]["id"]
    if await store.get_customer(first) is not None:
        log.info("demo population already loaded", extra={"customers": customers})
        return 0
    for raw in world.customers:
        body = {k: v for k, v in raw.items() if k != "id"}
        await directory.put_customer(
            store, raw["id"], CustomerIn.model_validate(body), default_region, now
        )
    for start in range(0, len(world.events), BATCH):
        chunk = world.events[start : start + BATCH]
        events = validate_batch({"events": chunk}, catalogue, BATCH, now)
        await ingest(store, events, catalogue, now)
    log.info(
        "demo population loaded",
        extra={"customers": len(world.customers), "events": len(world.events)},
    )
    return len(world.customers)
