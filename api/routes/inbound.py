"""The IVR's and the chat front's question on every contact: who, why, and what to do.

JSON for any IVR or chat front; VoiceXML for VXML browsers; TwiML for Twilio. Every
answer arrives within the deadline: the safe default, marked `degraded`, if need be.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import StateDep, require
from api.responses import OrjsonResponse, json_response
from api.state import AppState
from connectors.ivr import json_format
from core import inbound
from core.apikeys import ApiKey
from core.identity import IdentityKind
from predictors.arbitration import Decision, arbitrate, safe_default

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])
IvrKey = Annotated[ApiKey, Depends(require("ivr"))]
log = logging.getLogger("forecall.inbound")


class InboundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["ivr", "chat", "messenger"]
    call_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    caller: str | None = Field(None, max_length=128, description="phone or chat id")
    caller_kind: IdentityKind | None = Field(
        None, description="how to read `caller`; phone for ivr, chat otherwise"
    )
    dialed: str | None = Field(None, max_length=64)
    utterance: str | None = Field(None, max_length=2000)
    ivr_node: str | None = Field(None, max_length=64)
    context: dict[str, str] = Field(default_factory=dict, max_length=20)


async def run(state: AppState, body: InboundIn) -> tuple[dict[str, Any], Decision]:
    """Decide within the budget; the answer's body and the decision (for other formats)."""

    async def work() -> tuple[dict[str, Any], Decision]:
        found = await inbound.facts(
            state.store,
            state.models,
            state.open_incidents,
            call_id=body.call_id,
            channel=body.channel,
            caller=body.caller,
            caller_kind=body.caller_kind.value if body.caller_kind else None,
            utterance=body.utterance,
            ivr_node=body.ivr_node,
            region=state.settings.default_region,
            now=state.clock.now(),
        )
        decision = arbitrate(state.actions, inbound.context(found))
        state.background(remember(state, found, decision, body.context))
        return inbound.answer(found, json_format.render(decision)), decision

    def fallback(why: str) -> tuple[dict[str, Any], Decision]:
        decision = safe_default("ru")
        return {
            "call_id": body.call_id,
            "degraded": True,
            "degraded_reason": why,
            "customer": None,
            "reasons": [],
            "churn": None,
            "incident": None,
            **json_format.render(decision),
            "card_id": body.call_id,
        }, decision

    budget = state.settings.inbound_budget_ms / 1000
    return await inbound.decide(work, budget, body.call_id, fallback)


def call_note(found: inbound.Facts, decision: Decision) -> str:
    """The prediction as the CRM's timeline shows it."""
    reasons = ", ".join(f"{r} ({p:.0%})" for r, p in found.reasons.top)
    return (
        f"Forecall: входящий звонок {found.call_id}. Вероятные причины: {reasons or 'нет данных'}. "
        f"Риск оттока: {found.churn.band} ({found.churn.score:.2f}). "
        f"Рекомендация: {decision.top.spec.title}."
    )


def call_task(found: inbound.Facts) -> str | None:
    """A callback for the manager when the caller may be about to leave."""
    if found.churn.band != "high":
        return None
    return (
        f"Перезвонить клиенту: высокий риск оттока ({found.churn.score:.2f}) "
        f"после звонка {found.call_id}."
    )


async def remember(
    state: AppState,
    found: inbound.Facts,
    decision: Decision,
    context: dict[str, str] | None = None,
) -> None:
    """After answering: keep the call for the card and its outcome; count deflection."""
    await state.store.put_call(
        found.call_id, found.customer_id, inbound.call_record(found, decision.top.id)
    )
    # The operator's card; published at once when `context` names the operator or queue.
    from proactive import cards

    await cards.keep(state.store, state.live, state.catalogue, found, decision, context or {})
    if state.crm is not None and found.customer_id:
        await state.crm.on_call(
            found.call_id,
            found.customer_id,
            call_note(found, decision),
            state.clock.now(),
            task=call_task(found),
        )
    if found.customer_id and found.incidents:
        from proactive.deflection import count_contacts

        await count_contacts(state.store, state.outbox, found.incidents, [found.customer_id])


@router.post("", response_class=OrjsonResponse)
async def decide_json(body: InboundIn, state: StateDep, _: IvrKey) -> OrjsonResponse:
    """Identify, predict and decide for one inbound call or chat (JSON)."""
    answer, _decision = await run(state, body)
    return json_response(answer)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_reason: str = Field(min_length=1, max_length=64)
    resolved: bool
    offer_accepted: bool | None = None
    offer_id: str | None = Field(None, max_length=64)


@router.post("/{call_id}/outcome", response_class=OrjsonResponse)
async def outcome(
    call_id: str,
    body: OutcomeIn,
    state: StateDep,
    _: Annotated[ApiKey, Depends(require("desk"))],
) -> OrjsonResponse:
    """What the call was really about: updates the profile, keeps a labelled example."""
    result = await inbound_outcome(state, call_id, body)
    return json_response(result)


async def inbound_outcome(state: AppState, call_id: str, body: OutcomeIn) -> dict[str, Any]:
    from proactive.outcomes import record_outcome

    return await record_outcome(
        state.store,
        state.catalogue,
        state.clock.now(),
        call_id,
        actual_reason=body.actual_reason,
        resolved=body.resolved,
        offer_accepted=body.offer_accepted,
        offer_id=body.offer_id,
    )


@router.get("/examples.csv")
async def examples(state: StateDep, _: Annotated[ApiKey, Depends(require("admin"))]) -> Response:
    """Labelled examples from outcomes, as a file for `forecall train reasons --data FILE
    --label reason --text utterance`."""
    from proactive.outcomes import examples_csv

    return Response(
        examples_csv(await state.store.examples()),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="reasons.csv"'},
    )
