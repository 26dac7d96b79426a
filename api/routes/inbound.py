"""The IVR's and the chat front's question on every contact: who, why, and what to do.

JSON for any IVR or chat front; VoiceXML and TwiML in `voice.py`. Every answer arrives
within the deadline: the safe default, marked `degraded`, if need be (inbound/calls.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import (
    AdminKey,
    Arrived,
    CallsDep,
    ClockDep,
    DeskKey,
    EventCatalogueDep,
    IvrKey,
    StoreDep,
)
from api.responses import OrjsonResponse, json_response
from api.schemas import InboundIn, OutcomeIn
from inbound.outcomes import examples_csv, record_outcome

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])


@router.post("", response_class=OrjsonResponse)
async def decide_json(
    body: InboundIn, calls: CallsDep, arrived: Arrived, _: IvrKey, explain: bool = False
) -> OrjsonResponse:
    """Identify, predict and decide for one inbound call or chat (JSON). `explain=true`
    adds every action ranked, and why (the desk's card always has them)."""
    answer, _decision = await calls.answer(body.contact(), arrived, explain=explain)
    return json_response(answer)


@router.post("/{call_id}/outcome", response_class=OrjsonResponse)
async def outcome(
    call_id: str,
    body: OutcomeIn,
    store: StoreDep,
    catalogue: EventCatalogueDep,
    clock: ClockDep,
    _: DeskKey,
) -> OrjsonResponse:
    """What the call was really about: updates the profile, keeps a labelled example."""
    result = await record_outcome(store, catalogue, clock.now(), call_id, **body.kwargs())
    return json_response(result)


@router.get("/examples.csv")
async def examples(store: StoreDep, _: AdminKey) -> Response:
    """Labelled examples from outcomes, as a file for `forecall train reasons --data FILE
    --label reason --text utterance`."""
    return Response(
        examples_csv(await store.examples()),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="reasons.csv"'},
    )
