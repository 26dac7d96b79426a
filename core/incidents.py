"""Incidents as incident tooling declares them: what broke, where, until when."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.customers import Channel, Token, written_moment

TITLE_MAX = 200
_REGION = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"


class Severity(StrEnum):
    minor = "minor"
    major = "major"
    critical = "critical"  # notices pass quiet hours


class Scope(BaseModel):
    """Who is affected: customers matching every dimension given (any value within one),
    plus the customers named outright."""

    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(
        default_factory=list, max_length=100, json_schema_extra={"items": {"pattern": _REGION}}
    )
    services: list[Token] = Field(default_factory=list, max_length=50)
    network_nodes: list[Token] = Field(default_factory=list, max_length=5000)
    customer_ids: list[str] = Field(default_factory=list, max_length=100_000)

    @field_validator("regions")
    @classmethod
    def _region_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(_REGION, code):
                raise ValueError(f"{code!r} is not an ISO 3166-2 code like RU-MOW")
        return value

    @model_validator(mode="after")
    def _not_everyone(self) -> Scope:
        if not (self.regions or self.network_nodes or self.customer_ids or self.services):
            raise ValueError("name at least one region, service, network node or customer")
        return self

    def dimensions(self) -> list[list[str]]:
        """The audience query for the store: one list of index terms per dimension."""
        dims = []
        if self.regions:
            dims.append([f"r:{r}" for r in self.regions])
        if self.services:
            dims.append([f"s:{s}" for s in self.services])
        if self.network_nodes:
            dims.append([f"n:{n}" for n in self.network_nodes])
        return dims

    def touches(
        self, customer_id: str, region: str | None, services: list[str], nodes: list[str]
    ) -> bool:
        """The same rule as the store's index, for one customer at call time."""
        if customer_id in self.customer_ids:
            return True
        if not self.dimensions():
            return False
        return (
            (not self.regions or region in self.regions)
            and (not self.services or bool(set(services) & set(self.services)))
            and (not self.network_nodes or bool(set(nodes) & set(self.network_nodes)))
        )


class ChannelNotice(BaseModel):
    """What one channel says instead: a text of its own (an SMS shorter than an email), or
    the name of a template the provider has approved (WhatsApp style), filled with
    `title` and `eta`."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1, max_length=1000)
    template: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,128}$")

    @model_validator(mode="after")
    def _something(self) -> ChannelNotice:
        if self.text is None and self.template is None:
            raise ValueError("give a text, a template name, or both")
        return self


class NoticeText(BaseModel):
    """What to say, per locale, and per channel where one channel differs; Jinja2
    (sandboxed) with `title` and `eta`."""

    model_config = ConfigDict(extra="forbid")

    ru: str = Field(min_length=1, max_length=1000)
    en: str | None = Field(None, max_length=1000)
    channels: dict[Channel, ChannelNotice] = Field(default_factory=dict)


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    kind: str = Field("outage", pattern=r"^[a-z0-9_]{1,32}$")
    scope: Scope
    starts_at: datetime
    eta: datetime | None = None
    severity: Severity = Severity.major
    messages: dict[Literal["start", "update", "resolved"], NoticeText] = Field(
        default_factory=dict, description="Overrides of the built-in notice texts"
    )

    _text = field_validator("starts_at", "eta", mode="before")(written_moment)

    @field_validator("starts_at", "eta")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone (Z or +03:00)")
        return value


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eta: datetime | None = None
    scope: Scope | None = None
    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX)

    _text = field_validator("eta", mode="before")(written_moment)

    @field_validator("eta")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone (Z or +03:00)")
        return value


class Incident(IncidentIn):
    status: Literal["open", "resolved"] = "open"
    update: int = 0  # bumped by every change customers are told about
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
