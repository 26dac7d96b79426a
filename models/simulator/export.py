"""Writers: the world as files (JSON Lines and a CSV), and event batches for the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from models.simulator.world import World

FILES = ("customers.jsonl", "events.jsonl", "outages.jsonl", "contacts.jsonl", "churn.csv")


def iter_events(world: World) -> Iterator[dict[str, Any]]:
    """Events sorted by time, one at a time (does not keep them all in memory)."""
    return world.iter_events()


def iter_batches(world: World, size: int = 1000) -> Iterator[dict[str, Any]]:
    """Bodies for `POST /v1/events`: `{"events": [...]}` of at most `size` events."""
    if size < 1:
        raise ValueError("size must be at least 1")
    batch: list[dict[str, Any]] = []
    for event in world.iter_events():
        batch.append(event)
        if len(batch) == size:
            yield {"events": batch}
            batch = []
    if batch:
        yield {"events": batch}


def put_body(customer: dict[str, Any]) -> dict[str, Any]:
    """The body of `PUT /v1/customers/{id}` for a simulated customer (the record less its id)."""
    return {key: value for key, value in customer.items() if key != "id"}


def write_jsonl(world: World, directory: str | Path) -> dict[str, Path]:
    """Write every file of FILES into `directory` (created if missing); return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in FILES}
    _lines(paths["customers.jsonl"], iter(world.customers))
    _lines(paths["events.jsonl"], world.iter_events())
    _lines(paths["outages.jsonl"], iter(world.outages))
    _lines(paths["contacts.jsonl"], (asdict(label) for label in world.contacts))
    with paths["churn.csv"].open("w", encoding="utf-8", newline="") as handle:
        handle.write("customer_id,churned\n")
        handle.writelines(f"{cid},{int(flag)}\n" for cid, flag in world.churn.items())
    return paths


def _lines(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
