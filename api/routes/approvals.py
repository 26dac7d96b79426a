"""The approval queue: messages of critical scenarios wait here for a manager.

List, preview, approve (edited or not) or reject, one or many at once; an approved
message goes to the outbox with the manager's text; pending ones expire after 48 hours.
Every decision is in the audit log with who and when.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ClockDep, OutboxDep, StoreDep, require
from api.responses import OrjsonResponse, json_response
from connectors.store import DocumentStore
from core.apikeys import ApiKey
from core.errors import InvalidInput, NotFound
from core.messages import Message
from proactive.followups import APPROVALS

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
ManagerKey = Annotated[ApiKey, Depends(require("manager"))]
AUDIT = "audit"
_SHOWN = ("id", "customer_id", "scenario", "channel", "text", "subject", "created_at")


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: record.get(k) for k in _SHOWN},
        "expires_at": record["expires_at"],
        "status": record["status"],
        "decided_by": record.get("decided_by"),
        "decided_at": record.get("decided_at"),
    }


async def _current(store: DocumentStore, now: float, record: dict[str, Any]) -> dict[str, Any]:
    """The record, expired if its time is up (kept, with its new status)."""
    if record["status"] == "pending" and record["expires_at"] <= now:
        record["status"] = "expired"
        await store.put_doc(APPROVALS, record["id"], record["customer_id"], orjson.dumps(record))
    return record


@router.get("", response_class=OrjsonResponse)
async def list_approvals(
    store: StoreDep,
    clock: ClockDep,
    _: ManagerKey,
    status: Annotated[
        Literal["pending", "approved", "rejected", "expired", "all"], Query()
    ] = "pending",
) -> OrjsonResponse:
    """Messages waiting for (or past) a decision, oldest first."""
    now = clock.now()
    records = [await _current(store, now, orjson.loads(r)) for r in await store.docs(APPROVALS)]
    shown = [r for r in records if status == "all" or r["status"] == status]
    shown.sort(key=lambda r: r["created_at"])
    return json_response([_view(r) for r in shown])


@router.get("/audit", response_class=OrjsonResponse)
async def audit(
    store: StoreDep, _: ManagerKey, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> OrjsonResponse:
    """Decisions, newest first: who, when, what."""
    entries = [orjson.loads(r) for r in await store.docs(AUDIT)]
    return json_response(list(reversed(entries))[:limit])


@router.get("/{approval_id}", response_class=OrjsonResponse)
async def preview(
    approval_id: str, store: StoreDep, clock: ClockDep, _: ManagerKey
) -> OrjsonResponse:
    """One message as it would go out: channel, rendered text, the customer's routes."""
    raw = await store.get_doc(APPROVALS, approval_id)
    if raw is None:
        raise NotFound(f"no message {approval_id!r} in the approval queue")
    record = await _current(store, clock.now(), orjson.loads(raw))
    routes = [r["channel"] for r in record["message"]["routes"]]
    return json_response({**_view(record), "routes": routes, "due_at": record["message"]["due_at"]})


class Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=1000)
    decision: Literal["approve", "reject"]
    edits: dict[str, Edit] = Field(default_factory=dict)
    reason: str | None = Field(None, max_length=500)


@router.post("/decide", response_class=OrjsonResponse)
async def decide(
    body: DecisionIn, store: StoreDep, outbox: OutboxDep, clock: ClockDep, key: ManagerKey
) -> OrjsonResponse:
    """Approve (with edits, if any) or reject many at once. All or nothing: an unknown or
    already decided id refuses the whole request and changes nothing."""
    for edited in body.edits:
        if edited not in body.ids:
            raise InvalidInput(f"edits.{edited}", "is not among ids")
    if body.edits and body.decision == "reject":
        raise InvalidInput("edits", "only an approval can carry edits")
    now = clock.now()
    records = []
    for i, approval_id in enumerate(body.ids):
        raw = await store.get_doc(APPROVALS, approval_id)
        if raw is None:
            raise InvalidInput(f"ids[{i}]", f"no message {approval_id!r} in the approval queue")
        record = await _current(store, now, orjson.loads(raw))
        if record["status"] != "pending":
            raise InvalidInput(f"ids[{i}]", f"{approval_id!r} is already {record['status']}")
        records.append(record)
    messages = []
    for record in records:
        edit = body.edits.get(record["id"])
        record["status"] = "approved" if body.decision == "approve" else "rejected"
        record["decided_by"] = key.name
        record["decided_at"] = now
        if edit is not None:
            record["original_text"] = record["text"]
            record["text"] = edit.text
            for route in record["message"]["routes"]:
                route["text"] = edit.text
        if body.decision == "approve":
            message = Message.loads(orjson.dumps(record["message"]))
            message.due_at = max(message.due_at, now)
            messages.append(message)
    if messages:
        await outbox.enqueue(messages, now)
    for record in records:
        await store.put_doc(APPROVALS, record["id"], record["customer_id"], orjson.dumps(record))
        entry = {
            "at": now,
            "who": key.name,
            "key_id": key.id,
            "decision": body.decision,
            "id": record["id"],
            "scenario": record["scenario"],
            "edited": record["id"] in body.edits,
            "reason": body.reason,
        }
        await store.put_doc(
            AUDIT, f"{now:017.6f}:{record['id']}", record["customer_id"], orjson.dumps(entry)
        )
    return json_response({"decided": len(records), "enqueued": len(messages)})
