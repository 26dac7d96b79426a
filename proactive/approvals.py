"""The approval queue's rules: messages of critical scenarios wait for a manager.

A record is pending until approved (edited or not), rejected, or expired after its time;
an approved message goes to the outbox with the manager's text. Every change of a record
is a compare-and-swap on the stored document (`swap_doc`), so two managers deciding the
same message at once (two tabs, two API replicas) cannot both pass: the one that writes
second finds the record changed and is refused as if it had come later. Every decision
is in the audit log with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from connectors.outbox import Outbox
from connectors.store import DocumentStore
from core.clock import Clock
from core.errors import InvalidInput, NotFound
from core.messages import Message
from predictors.templates import DEFAULT_MAX_BYTES
from proactive.followups import APPROVALS

AUDIT = "audit"
Decision = Literal["approve", "reject"]


@dataclass(frozen=True)
class Manager:
    """Who decides: the key's name and id, for the audit log."""

    name: str
    key_id: str


class Approvals:
    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        message_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.message_bytes = message_bytes
        self.store = store
        self.outbox = outbox
        self.clock = clock

    async def records(self) -> list[dict[str, Any]]:
        """Every record, current (expired where its time is up), oldest first."""
        now = self.clock.now()
        found = [await self._current(raw, now) for raw in await self.store.docs(APPROVALS)]
        return sorted(found, key=lambda r: r["created_at"])

    async def get(self, approval_id: str) -> dict[str, Any]:
        raw = await self.store.get_doc(APPROVALS, approval_id)
        if raw is None:
            raise NotFound(f"no message {approval_id!r} in the approval queue")
        return await self._current(raw, self.clock.now())

    async def audit(self, limit: int) -> list[dict[str, Any]]:
        """Decisions, newest first."""
        entries = [orjson.loads(r) for r in await self.store.docs(AUDIT)]
        return list(reversed(entries))[:limit]

    async def decide(
        self,
        ids: list[str],
        decision: Decision,
        edits: dict[str, str],
        reason: str | None,
        manager: Manager,
    ) -> tuple[int, int]:
        """Approve (with edited texts) or reject many at once; (decided, enqueued).

        All or nothing: an unknown or already decided id, or one another manager decides
        meanwhile, refuses the whole request and changes nothing."""
        for edited in edits:
            if edited not in ids:
                raise InvalidInput(f"edits.{edited}", "is not among ids")
        if edits and decision == "reject":
            raise InvalidInput("edits", "only an approval can carry edits")
        for edited, text in edits.items():
            if len(text.encode()) > self.message_bytes:
                raise InvalidInput(
                    f"edits.{edited}.text", f"is longer than {self.message_bytes} bytes"
                )
        now = self.clock.now()
        ids = list(dict.fromkeys(ids))  # an id listed twice is decided once
        read: list[tuple[bytes, dict[str, Any]]] = []
        for i, approval_id in enumerate(ids):
            raw = await self.store.get_doc(APPROVALS, approval_id)
            if raw is None:
                raise InvalidInput(f"ids[{i}]", f"no message {approval_id!r} in the approval queue")
            raw, record = await self._expire(raw, now)
            if record["status"] != "pending":
                raise InvalidInput(f"ids[{i}]", f"{approval_id!r} is already {record['status']}")
            read.append((raw, record))
        decided = [
            (raw, _decided(record, decision, edits.get(record["id"]), manager.name, now))
            for raw, record in read
        ]
        await self._swap_all(ids, decided)
        messages = []
        for _, record in decided:
            if decision == "approve":
                message = Message.loads(orjson.dumps(record["message"]))
                message.due_at = max(message.due_at, now)
                messages.append(message)
        if messages:  # after the swap: only the one decision that won sends the message
            await self.outbox.enqueue(messages, now)
        for _, record in decided:
            entry = {
                "at": now,
                "who": manager.name,
                "key_id": manager.key_id,
                "decision": decision,
                "id": record["id"],
                "scenario": record["scenario"],
                "edited": record["id"] in edits,
                "reason": reason,
            }
            await self.store.put_doc(
                AUDIT, f"{now:017.6f}:{record['id']}", record["customer_id"], orjson.dumps(entry)
            )
        return len(decided), len(messages)

    async def _swap_all(self, ids: list[str], decided: list[tuple[bytes, dict[str, Any]]]) -> None:
        """Write every decided record over the one read; if another decision got to one
        first, put back those already written and refuse."""
        written: list[tuple[str, bytes, bytes]] = []
        for i, (raw, record) in enumerate(decided):
            new = orjson.dumps(record)
            if await self.store.swap_doc(APPROVALS, record["id"], raw, new):
                written.append((record["id"], raw, new))
                continue
            for approval_id, old, mine in reversed(written):
                await self.store.swap_doc(APPROVALS, approval_id, mine, old)
            now = await self.store.get_doc(APPROVALS, record["id"])
            status = orjson.loads(now)["status"] if now else "gone"
            raise InvalidInput(f"ids[{i}]", f"{ids[i]!r} is already {status}")

    async def _current(self, raw: bytes, now: float) -> dict[str, Any]:
        return (await self._expire(raw, now))[1]

    async def _expire(self, raw: bytes, now: float) -> tuple[bytes, dict[str, Any]]:
        """The record (and its stored bytes), expired if its time is up: kept, with its
        new status, unless a decision landed first."""
        record = orjson.loads(raw)
        if record["status"] != "pending" or record["expires_at"] > now:
            return raw, record
        record["status"] = "expired"
        expired = orjson.dumps(record)
        if await self.store.swap_doc(APPROVALS, record["id"], raw, expired):
            return expired, record
        current = await self.store.get_doc(APPROVALS, record["id"])
        return (current, orjson.loads(current)) if current else (raw, record)


def _decided(
    record: dict[str, Any], decision: Decision, text: str | None, who: str, now: float
) -> dict[str, Any]:
    out = {
        **record,
        "status": "approved" if decision == "approve" else "rejected",
        "decided_by": who,
        "decided_at": now,
    }
    if text is not None:
        out["original_text"] = record["text"]
        out["text"] = text
        message = {**record["message"]}
        message["routes"] = [{**route, "text": text} for route in message["routes"]]
        out["message"] = message
    return out
