"""One inbound call or chat, from the question to the answer and what is kept after it.

`Calls.answer` identifies, predicts and decides under the deadline and returns the JSON
answer with the decision (VoiceXML and TwiML render the same decision). The deadline
counts from the request's arrival: a call that already waited its budget in line gets
the safe default at once (`overload`), and a store the breaker holds for dead costs no
wait (`store_unavailable`). What only the desk, the CRM and the outage counts need is
done after the answer, off its path: the call's one record is queued for a batched write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.errors import ForecallError, StoreUnavailable
from core.events import Catalogue
from inbound import answer as answers
from inbound import cards
from inbound import decision as inbound
from inbound.call_log import CallLog
from inbound.decision import DEGRADED_TOTAL
from inbound.guard import StoreBreaker
from inbound.live import Hub
from predictors.actions import Catalogue as ActionCatalogue
from predictors.arbitration import Decision, arbitrate
from predictors.decision import BAND_NAMES, reason_name
from predictors.registry import ModelRegistry
from proactive.crm_notes import CrmNotes
from proactive.deflection import count_contacts
from proactive.incident_cache import OpenIncidents

log = logging.getLogger("forecall.inbound")


@dataclass(frozen=True, slots=True)
class Contact:
    """The caller's question, as the IVR or chat front asks it."""

    call_id: str
    channel: str
    caller: str | None = None
    caller_kind: str | None = None
    utterance: str | None = None
    ivr_node: str | None = None
    context: dict[str, str] | None = None


class Calls:
    """The inbound use case; built once by the app's lifespan."""

    def __init__(
        self,
        *,
        store: Store,
        models: ModelRegistry,
        actions: ActionCatalogue,
        open_incidents: OpenIncidents,
        catalogue: Catalogue,
        live: Hub,
        outbox: Outbox,
        clock: Clock,
        crm: CrmNotes | None,
        region: str,
        budget_ms: float,
    ) -> None:
        self.store = store
        self.models = models
        self.actions = actions
        self.open_incidents = open_incidents
        self.clock = clock
        self.outbox = outbox
        self.crm = crm
        self.region = region
        self.budget = budget_ms / 1000
        self.breaker = StoreBreaker(store.ping)
        self.log = CallLog(store, partial(cards.publish, store, live, catalogue))
        self.tasks: set[asyncio.Task[None]] = set()

    async def answer(
        self, contact: Contact, arrived: float | None = None, *, explain: bool = False
    ) -> tuple[dict[str, Any], Decision]:
        """Decide within the budget counted from `arrived` (time.monotonic() when the
        request came in); the answer's body and the decision (for other formats).
        `explain` adds the ranked actions and why (the desk's card always has them)."""
        now = time.monotonic()
        # A third of the budget is kept for what the server cannot see: the request in
        # the socket before its turn on the loop, and the answer on its way back.
        deadline = (now if arrived is None else arrived) + self.budget * 2 / 3
        if now >= deadline:  # it waited its whole budget in line: shed, don't queue
            return self.degraded(contact, "overload")
        if not self.breaker.allows():
            return self.degraded(contact, "store_unavailable")
        try:
            async with asyncio.timeout(deadline - now):
                found = await self._facts(contact)
        except TimeoutError:
            self.breaker.suspect()
            return self.degraded(contact, "deadline")
        except StoreUnavailable:
            self.breaker.failure()
            return self.degraded(contact, "store_unavailable")
        except ForecallError as exc:
            return self.degraded(contact, exc.code)
        except Exception:
            log.exception("inbound decision failed", extra={"call_id": contact.call_id})
            return self.degraded(contact, "internal_error")
        self.breaker.success()
        try:
            decision = arbitrate(self.actions, inbound.context(found))
            body = answers.answer(found, decision, why=explain)
        except Exception:
            log.exception("inbound decision failed", extra={"call_id": contact.call_id})
            return self.degraded(contact, "internal_error")
        if time.monotonic() > deadline:  # a late answer is no answer to the IVR
            return self.degraded(contact, "deadline")
        self.remember(found, decision, contact.context or {})
        return body, decision

    async def _facts(self, contact: Contact) -> inbound.Facts:
        return await inbound.facts(
            self.store,
            self.models,
            self.open_incidents,
            call_id=contact.call_id,
            channel=contact.channel,
            caller=contact.caller,
            caller_kind=contact.caller_kind,
            utterance=contact.utterance,
            ivr_node=contact.ivr_node,
            region=self.region,
            now=self.clock.now(),
        )

    def degraded(self, contact: Contact, why: str) -> tuple[dict[str, Any], Decision]:
        DEGRADED_TOTAL.labels(why).inc()
        # Shedding must stay cheap: a line per shed call would add to the overload.
        level = logging.DEBUG if why in ("overload", "store_unavailable") else logging.WARNING
        log.log(level, "inbound degraded", extra={"call_id": contact.call_id, "why": why})
        return answers.degraded(contact.call_id, why)

    def remember(self, found: inbound.Facts, decision: Decision, context: dict[str, str]) -> None:
        """After answering: the call's one record (queued, written in a batch); the CRM's
        note and the outage's deflection count when there are any."""
        given = {k: context[k] for k in ("operator_id", "queue") if context.get(k)}
        self.log.add(found, decision, given or None)
        if self.crm is not None and found.customer_id:
            self.background(
                self.crm.on_call(
                    found.call_id,
                    found.customer_id,
                    call_note(found, decision),
                    self.clock.now(),
                    task=call_task(found),
                )
            )
        if found.customer_id and found.incidents:
            self.background(
                count_contacts(self.store, self.outbox, found.incidents, [found.customer_id])
            )

    async def warm(self) -> None:
        """At start-up: one anonymous decision with an utterance (models, zone data,
        the arbitration's expressions) and one store read (its connections), so that
        the first real call costs what the others do."""
        contact = Contact(call_id="warm-up", channel="ivr", utterance="где мой заказ")
        found = await self._facts(contact)
        answers.answer(found, arbitrate(self.actions, inbound.context(found)), why=True)
        try:
            await self.store.find_customer("phone", "+70000000000")
        except StoreUnavailable:
            log.warning("store not answering at start-up; the breaker will tell")

    def start(self) -> None:
        self.log.start()

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that must not delay the answer (the CRM's note, counting)."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Write every queued call record and finish the after-answer work."""
        await self.log.flush()
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def drain(self) -> None:
        """On shutdown: let the after-answer work finish."""
        await self.settle()
        await self.log.close()
        await self.breaker.close()


def call_note(found: inbound.Facts, decision: Decision) -> str:
    """The prediction as the CRM's timeline shows it."""
    reasons = ", ".join(f"{reason_name(r)} ({p:.0%})" for r, p in found.reasons.top)
    band = BAND_NAMES.get(found.churn.band, {}).get("ru", found.churn.band)
    return (
        f"Forecall: входящий звонок {found.call_id}. Вероятные причины: {reasons or 'нет данных'}. "
        f"Риск оттока: {band} ({found.churn.score:.2f}). "
        f"Рекомендация: {decision.top.title()}."
    )


def call_task(found: inbound.Facts) -> str | None:
    """A callback for the manager when the caller may be about to leave."""
    if found.churn.band != "high":
        return None
    return (
        f"Перезвонить клиенту: высокий риск оттока ({found.churn.score:.2f}) "
        f"после звонка {found.call_id}."
    )
