"""The shape of an action catalogue file: pydantic models that validate the YAML before
anything is compiled (predictors/actions.py compiles them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from predictors.wording import LocalText

Kind = Literal["announce_incident", "confirm_reason", "self_service", "route", "offer", "support"]
ChannelName = Literal["ivr", "chat", "messenger"]
Token = Field(default=None, pattern=r"^[A-Za-z0-9_.:@+-]{1,64}$")


def _all_channels() -> list[ChannelName]:
    return ["ivr", "chat", "messenger"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IvrSpec(_Strict):
    prompt_id: str | None = Token  # a recorded prompt on the IVR platform, if it has one
    say: str | None = Field(None, max_length=1000)  # Russian, Jinja2, for speech synthesis
    say_en: str | None = Field(None, max_length=1000)
    queue: str | None = Token
    skill: str | None = Token
    priority: int = Field(0, ge=0, le=100)


class OperatorSpec(_Strict):
    script: str = Field("", max_length=2000)  # Russian, Jinja2
    offer: str | None = Field(None, max_length=1000)


class ActionSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: LocalText  # what operators and managers read; `{ru: ..., en: ...}` or one text
    kind: Kind
    when: str = "true"
    channels: list[ChannelName] = Field(default_factory=_all_channels)
    category: Literal["service", "marketing"] = "service"
    value: float = Field(ge=0)
    weight: float = Field(1.0, ge=0)
    propensity: str = "1"
    context_weight: dict[ChannelName, float] = Field(default_factory=dict)
    final: bool = False
    ivr: IvrSpec | None = None
    operator: OperatorSpec = Field(default_factory=OperatorSpec)

    @field_validator("when", "propensity", mode="before")
    @classmethod
    def _expression_text(cls, value: Any) -> Any:
        # YAML reads `when: true` and `propensity: 1` as a bool and a number.
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int | float) else value

    @field_validator("context_weight")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()):
            raise ValueError("context weights must be >= 0")
        return value


class CatalogueSpec(_Strict):
    version: Literal[1] = 1
    default: str | None = None
    actions: list[ActionSpec] = Field(min_length=1)


MODELS: dict[str, type[BaseModel]] = {
    "": CatalogueSpec,
    "action": ActionSpec,
    "ivr": IvrSpec,
    "operator": OperatorSpec,
}
