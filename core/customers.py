"""The customer record as the CRM sends it: identities, where they live, what they have,
how they like to be reached, and what they have agreed to."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    field_validator,
)

from core.errors import Conflict
from core.identity import IdentityKind, normalize


class Channel(StrEnum):
    sms = "sms"
    telegram = "telegram"
    whatsapp = "whatsapp"
    viber = "viber"
    email = "email"
    push = "push"
    voice = "voice"


class Purpose(StrEnum):
    marketing = "marketing"
    service = "service"


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA time zone: {value!r} (e.g. Europe/Moscow)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
Token = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Identity(_Strict):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=256)


def written_moment(value: object) -> object:
    """A time or date arrives as text (ISO 8601), as the API documents it: a bare number
    would be read as a Unix time, which the document does not promise."""
    if isinstance(value, int | float):
        raise ValueError("give a date or time as text in ISO 8601, e.g. 2026-11-18T10:30:00Z")
    return value


class Consent(_Strict):
    """One documented consent or refusal: the proof advertising law asks for."""

    purpose: Purpose
    channel: Channel
    granted: StrictBool  # JSON true/false: 0 or "yes" is refused, not guessed at
    source: str = Field(min_length=1, max_length=256, description="Where it was given")
    at: datetime = Field(description="When it was given; must carry a time zone")
    evidence: str | None = Field(None, max_length=512, description="Document or record id")

    _text = field_validator("at", mode="before")(written_moment)

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone (Z or +03:00)")
        return value


class CustomerIn(_Strict):
    """The body of `PUT /v1/customers/{id}`: the whole record, replaced as a unit."""

    name: str | None = Field(None, max_length=200)
    identities: list[Identity] = Field(default_factory=list, max_length=20)
    locale: Literal["ru", "en"] = "ru"
    time_zone: TimeZoneName | None = None
    region: str | None = Field(None, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$", examples=["RU-MOW"])
    services: list[Token] = Field(default_factory=list, max_length=32)
    network_nodes: list[Token] = Field(default_factory=list, max_length=32)
    segment: str = Field("b2c", pattern=r"^[a-z0-9_]{1,16}$", examples=["b2c", "b2b"])
    products: list[Token] = Field(default_factory=list, max_length=32)
    tariff: str | None = Field(None, max_length=64)
    birthday: date | None = None
    monthly_revenue: StrictFloat | None = Field(None, ge=0)
    channel_preferences: list[Channel] = Field(default_factory=list, max_length=7)
    consents: list[Consent] = Field(default_factory=list, max_length=64)
    attributes: dict[str, str | float | bool] = Field(default_factory=dict, max_length=32)

    _text = field_validator("birthday", mode="before")(written_moment)

    @field_validator("channel_preferences")
    @classmethod
    def _unique_channels(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) != len(value):
            raise ValueError("lists a channel twice")
        return value

    def normalized_identities(self, default_region: str) -> list[tuple[str, str]]:
        """(kind, normalized value) pairs, each once; raises naming the bad entry."""
        seen: dict[tuple[str, str], int] = {}
        for i, identity in enumerate(self.identities):
            key = (
                identity.kind.value,
                normalize(identity.kind, identity.value, default_region, f"identities[{i}].value"),
            )
            if key in seen:
                raise Conflict(f"identities[{i}] repeats identities[{seen[key]}]")
            seen[key] = i
        return list(seen)


class Customer(CustomerIn):
    """A stored customer: the record plus its id and normalized identities."""

    id: str
    updated_at: datetime

    def consent(self, purpose: Purpose, channel: Channel) -> Consent | None:
        """The latest statement for this purpose and channel, if any."""
        matching = [c for c in self.consents if c.purpose is purpose and c.channel is channel]
        return max(matching, key=lambda c: c.at) if matching else None
