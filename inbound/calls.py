"""One inbound call or chat, from the question to the answer and what is kept after it.

`Calls.answer` identifies, predicts and decides under the deadline and returns the JSON
answer with the decision (VoiceXML and TwiML render the same decision). What only the
desk, the CRM and the outage counts need is done after the answer, off its path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from connectors.outbox import Outbox
from connectors.store import Store
from core.clock import Clock
from core.events import Catalogue
from inbound import answer as answers
from inbound import cards
from inbound import decision as inbound
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
        self.catalogue = catalogue
        self.live = live
        self.outbox = outbox
        self.clock = clock
        self.crm = crm
        self.region = region
        self.budget = budget_ms / 1000
        self.tasks: set[asyncio.Task[None]] = set()

    async def answer(self, contact: Contact) -> tuple[dict[str, Any], Decision]:
        """Decide within the budget; the answer's body and the decision (for other formats)."""

        async def work() -> tuple[dict[str, Any], Decision]:
            found = await inbound.facts(
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
            decision = arbitrate(self.actions, inbound.context(found))
            self.background(self.remember(found, decision, contact.context or {}))
            return answers.answer(found, decision), decision

        def fallback(why: str) -> tuple[dict[str, Any], Decision]:
            return answers.degraded(contact.call_id, why)

        return await inbound.decide(work, self.budget, contact.call_id, fallback)

    async def remember(
        self, found: inbound.Facts, decision: Decision, context: dict[str, str]
    ) -> None:
        """After answering: keep the call for the card and its outcome; count deflection."""
        await self.store.put_call(
            found.call_id, found.customer_id, inbound.call_record(found, decision.top.id)
        )
        # The operator's card; published at once when `context` names the operator or queue.
        await cards.keep(self.store, self.live, self.catalogue, found, decision, context)
        if self.crm is not None and found.customer_id:
            await self.crm.on_call(
                found.call_id,
                found.customer_id,
                call_note(found, decision),
                self.clock.now(),
                task=call_task(found),
            )
        if found.customer_id and found.incidents:
            await count_contacts(self.store, self.outbox, found.incidents, [found.customer_id])

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that must not delay the answer (keeping the call record, counting)."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        """On shutdown: let the after-answer work finish."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


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
