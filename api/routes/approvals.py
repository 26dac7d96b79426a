"""The approval queue: messages of critical scenarios wait here for a manager.

List, preview, approve (edited or not) or reject, one or many at once; the rules (who
may decide what, expiry, compare-and-swap against a concurrent decision) live in
`proactive/approvals.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import ApprovalsDep, FollowupsDep, require
from api.responses import OrjsonResponse, json_response
from core.apikeys import ApiKey
from predictors.scenarios import Scenarios
from proactive.approvals import Manager

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
ManagerKey = Annotated[ApiKey, Depends(require("manager"))]
_SHOWN = ("id", "customer_id", "scenario", "channel", "text", "subject", "created_at")


def _view(record: dict[str, Any], scenarios: Scenarios) -> dict[str, Any]:
    scenario = scenarios.get(record["scenario"])
    return {
        **{k: record.get(k) for k in _SHOWN},
        # The id stays; people read the title (the id itself when the scenario is gone).
        "scenario_title": scenario.title("ru") if scenario else record["scenario"],
        "scenario_title_en": scenario.title("en") if scenario else record["scenario"],
        "expires_at": record["expires_at"],
        "status": record["status"],
        "decided_by": record.get("decided_by"),
        "decided_at": record.get("decided_at"),
    }


@router.get("", response_class=OrjsonResponse)
async def list_approvals(
    approvals: ApprovalsDep,
    followups: FollowupsDep,
    _: ManagerKey,
    status: Annotated[
        Literal["pending", "approved", "rejected", "expired", "all"], Query()
    ] = "pending",
) -> OrjsonResponse:
    """Messages waiting for (or past) a decision, oldest first."""
    records = await approvals.records()
    shown = [r for r in records if status == "all" or r["status"] == status]
    return json_response([_view(r, followups.scenarios) for r in shown])


@router.get("/audit", response_class=OrjsonResponse)
async def audit(
    approvals: ApprovalsDep, _: ManagerKey, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> OrjsonResponse:
    """Decisions, newest first: who, when, what."""
    return json_response(await approvals.audit(limit))


@router.get("/{approval_id}", response_class=OrjsonResponse)
async def preview(
    approval_id: str, approvals: ApprovalsDep, followups: FollowupsDep, _: ManagerKey
) -> OrjsonResponse:
    """One message as it would go out: channel, rendered text, the customer's routes."""
    record = await approvals.get(approval_id)
    routes = [r["channel"] for r in record["message"]["routes"]]
    view = _view(record, followups.scenarios)
    return json_response({**view, "routes": routes, "due_at": record["message"]["due_at"]})


class Edit(BaseModel):
    """The text the customer gets instead, exactly as written: it is not a template."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)

    @field_validator("text")
    @classmethod
    def _plain(cls, value: str) -> str:
        if any(mark in value for mark in ("{{", "{%", "{#")):
            raise ValueError("is sent as written; template markup ({{ }}, {% %}) is not allowed")
        return value


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=1000)
    decision: Literal["approve", "reject"]
    edits: dict[str, Edit] = Field(default_factory=dict)
    reason: str | None = Field(None, max_length=500)


@router.post("/decide", response_class=OrjsonResponse)
async def decide(body: DecisionIn, approvals: ApprovalsDep, key: ManagerKey) -> OrjsonResponse:
    """Approve (with edits, if any) or reject many at once. All or nothing: an unknown or
    already decided id refuses the whole request and changes nothing; of two decisions on
    one message at once, one passes."""
    edits = {approval_id: edit.text for approval_id, edit in body.edits.items()}
    decided, enqueued = await approvals.decide(
        body.ids, body.decision, edits, body.reason, Manager(key.name, key.id)
    )
    return json_response({"decided": decided, "enqueued": enqueued})
