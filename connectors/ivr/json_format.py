"""The generic JSON answer: what any IVR, chat front or desk can read without a format
of its own. The keys merge into the `/v1/inbound` response beside the customer, the
reasons and churn."""

from __future__ import annotations

from typing import Any

from predictors.arbitration import Decision


def render(decision: Decision, *, why: bool = True) -> dict[str, Any]:
    """`why=False` leaves the ranked list out (an IVR that only needs what to do)."""
    top, ivr, operator = decision.top, decision.ivr, decision.operator
    body: dict[str, Any] = {
        "action": {
            "id": top.id,
            "kind": top.kind,
            "title": top.spec.title,
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
            "offers": [{"action_id": a, "text": text} for a, text in operator.offers],
        },
    }
    if why:
        body["ranked"] = [
            {
                "id": s.action.id,
                "kind": s.action.kind,
                "eligible": s.eligible,
                "suitable": s.suitable,
                "priority": round(s.priority, 4),
                "why": s.why,
            }
            for s in decision.ranked
        ]
    return body
