"""The calls kept after their answers: one record per call, written off the answer's path.

`CallLog.add` only queues what was decided; one task writes whatever has queued in a
single store batch (a Redis pipeline, one SQLite transaction), so a busy minute costs a
few writes, not one per call, and the answer never waits for any of them. The record is
the call's whole memory: the outcome's features and prediction, and the answer the
desk's card is built from when an operator opens it (inbound/cards.py).

A call routed before its record lands (the IVR's transfer, `cards.route`) is published
when the batch that holds it is written: one read per batch finds those routes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from connectors.store import Store
from inbound.answer import answer
from inbound.decision import Facts
from predictors.arbitration import Decision

log = logging.getLogger("forecall.inbound")
ROUTE = "#route"  # beside the call record, "#" never occurs in a call id
MAX_BATCH = 500  # stays below SQLite's bound-parameter limit in one read


Pending = tuple[Facts, Decision, dict[str, str] | None]


def record(found: Facts, decision: Decision, route: dict[str, str] | None) -> dict[str, Any]:
    """What the outcome and the desk's card need later (the full answer, with the ranked
    actions and why); kept a week."""
    full = answer(found, decision)
    return {
        "call_id": found.call_id,
        "customer_id": found.customer_id,
        "channel": found.channel,
        "ts": found.now,
        "utterance": found.utterance,
        "features": found.row.reshape(-1).tolist(),
        "reasons": found.reasons.top,
        "churn": found.churn.score,
        "action": decision.top.id,
        "answer": full,
        "incidents": [
            {"id": i.id, "title": i.title, "eta": i.eta.isoformat() if i.eta else None}
            for i in found.incidents
        ],
        "route": route,
    }


Publish = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


class CallLog:
    """Queues decided calls and writes them in batches; `publish(record)` gets each call
    that has a route once its record is written."""

    def __init__(self, store: Store, publish: Publish) -> None:
        self.store = store
        self.publish = publish
        self.pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def add(self, found: Facts, decision: Decision, route: dict[str, str] | None) -> None:
        """Queue one decided call; never waits."""
        self.pending.append((found, decision, route))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="call-log")

    async def close(self) -> None:
        """Write what is still queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def flush(self) -> None:
        """Write every queued call now (tests, shutdown)."""
        while self.pending:
            await self._write(self._take())

    def _take(self) -> list[Pending]:
        batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
        return batch

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                try:
                    await self._write(self._take())
                except Exception:  # the next batch may find the store back
                    log.warning("call records not written", exc_info=True)
            if self._closing:
                return

    async def _write(self, batch: list[Pending]) -> None:
        records = [record(found, decision, route) for found, decision, route in batch]
        await self.store.put_calls(
            [(r["call_id"], r["customer_id"], orjson.dumps(r)) for r in records]
        )
        # A transfer that came before its record: its route waits beside the call.
        unrouted = [r for r in records if r["route"] is None]
        early = await self.store.get_calls([r["call_id"] + ROUTE for r in unrouted])
        for r, raw in zip(unrouted, early, strict=True):
            if raw is not None:
                r["route"] = orjson.loads(raw)
        for r in records:
            if r["route"] is not None:
                await self.publish(r)
