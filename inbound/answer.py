"""The inbound answer as JSON: what any IVR, chat front or desk can read without a format
of its own. `render` gives what to do; `answer` adds who is calling, why, and the churn
risk; `degraded` is the safe default in the same shape."""

from __future__ import annotations

from typing import Any

from inbound.decision import Facts, summary
from predictors.arbitration import Decision, safe_default
from predictors.decision import reason_name


def render(decision: Decision, *, why: bool = True) -> dict[str, Any]:
    """`why=False` leaves the ranked list out (an IVR that only needs what to do)."""
    top, ivr, operator = decision.top, decision.ivr, decision.operator
    locale = decision.locale
    body: dict[str, Any] = {
        "action": {
            "id": top.id,
            "kind": top.kind,
            "title": top.title(locale),
            "final": top.final,
            "fallback": decision.fallback,
        },
        "ivr": {
            "action_id": ivr.action_id,
            "prompt_id": ivr.prompt_id,
            "say": ivr.say,
            "language": ivr.language,
            "queue": ivr.queue,
            "skill": ivr.skill,
            "priority": ivr.priority,
            "final": ivr.final,
        },
        "operator": {
            "script": operator.script,
            "offer": operator.offer,
            "offers": [
                {"action_id": a, "title": _title(decision, a), "text": text}
                for a, text in operator.offers
            ],
        },
    }
    if why:
        body["ranked"] = [
            {
                "id": s.action.id,
                "title": s.action.title(locale),
                "kind": s.action.kind,
                "eligible": s.eligible,
                "suitable": s.suitable,
                "priority": round(s.priority, 4),
                "why": s.why(locale),  # for the operator
                "trace": s.trace,  # the rule engine's account, for those who tune it
            }
            for s in decision.ranked
        ]
    return body


def _title(decision: Decision, action_id: str) -> str:
    scored = next((s for s in decision.ranked if s.action.id == action_id), None)
    return scored.action.title(decision.locale) if scored else action_id


def answer(found: Facts, decision: Decision, *, why: bool = True) -> dict[str, Any]:
    """The answer for a decided call; `why=False` is the IVR's lean answer (the ranked
    actions and why stay in the call record, for the desk's card)."""
    incident = found.incidents[0] if found.incidents else None
    return {
        "call_id": found.call_id,
        "degraded": False,
        "customer": summary(found),
        "reasons": [
            {"reason": r, "title": reason_name(r, decision.locale), "confidence": p}
            for r, p in found.reasons.top
        ],
        "reason_source": found.reasons.source,
        "reason_unknown": found.reasons.abstained,
        "churn": {
            "score": found.churn.score,
            "band": found.churn.band,
            "reasons": found.churn.reasons,
            "source": found.churn.source,
        },
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "eta": incident.eta.isoformat() if incident.eta else None,
        }
        if incident
        else None,
        **render(decision, why=why),
        "card_id": found.call_id,
    }


def degraded(call_id: str, why: str, language: str = "ru") -> tuple[dict[str, Any], Decision]:
    """The safe default, marked `degraded` with why; the same keys as `answer`."""
    decision = safe_default(language)
    return {
        "call_id": call_id,
        "degraded": True,
        "degraded_reason": why,
        "customer": None,
        "reasons": [],
        "churn": None,
        "incident": None,
        **render(decision, why=False),
        "card_id": call_id,
    }, decision
