"""Request bodies that more than one route reads: the inbound question (JSON, VoiceXML and
TwiML routes ask the same one) and a call's outcome (the API and the desk)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from core.identity import IdentityKind
from inbound.calls import Contact
from inbound.outcomes import OutcomeFields


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

    def contact(self) -> Contact:
        return Contact(
            call_id=self.call_id,
            channel=self.channel,
            caller=self.caller,
            caller_kind=self.caller_kind.value if self.caller_kind else None,
            utterance=self.utterance,
            ivr_node=self.ivr_node,
            context=self.context,
        )


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actual_reason: str = Field(min_length=1, max_length=64)
    resolved: StrictBool
    offer_accepted: StrictBool | None = None
    offer_id: str | None = Field(None, max_length=64)

    def kwargs(self) -> OutcomeFields:
        """As `inbound.outcomes.record_outcome` takes them."""
        return {
            "actual_reason": self.actual_reason,
            "resolved": self.resolved,
            "offer_accepted": self.offer_accepted,
            "offer_id": self.offer_id,
        }
