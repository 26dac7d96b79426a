"""Settings: `FORECALL_*` environment variables, optionally a YAML file (`FORECALL_CONFIG`).

Precedence: explicit arguments, then the environment, then the file, then defaults.
Nothing is built at import time: `create_app(settings)` takes an instance.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from core.customers import TimeZoneName
from core.events import EventSpec, FieldKind

SCOPES = ("ingest", "ivr", "desk", "incidents", "manager", "admin")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


class EventTypeConfig(BaseModel):
    """A deployment's own event type: generic last-seen and windowed counts."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, FieldKind] = Field(default_factory=dict, description="required fields")
    optional: dict[str, FieldKind] = Field(default_factory=dict)
    windowed: bool = True
    amount_field: str | None = None
    description: str = ""

    def spec(self, name: str) -> EventSpec:
        return EventSpec(
            name=name,
            required=self.fields,
            optional=self.optional,
            windowed=self.windowed,
            amount_field=self.amount_field,
            description=self.description,
        )


class ChannelSettings(BaseModel):
    """One channel: `kind` picks the connector (telegram, smsc, http_sms, smtp, webhook);
    the connector validates the rest of its keys when it opens."""

    model_config = ConfigDict(extra="allow")

    kind: str
    rate_per_second: float | None = Field(None, gt=0, description="token-bucket rate")
    burst: float | None = Field(None, ge=1)

    def connector_config(self) -> dict[str, object]:
        return self.model_dump(exclude={"rate_per_second", "burst"}, exclude_none=True)


class IvrSettings(BaseModel):
    """How the VoiceXML and TwiML answers hand a call over."""

    model_config = ConfigDict(extra="forbid")

    transfer: dict[str, str] = Field(
        default_factory=dict,
        description="queue or skill -> tel:/sip: URI: VXML <transfer>, Twilio <Dial>",
    )
    twilio_workflow_sid: str | None = Field(
        None, pattern=r"^WW[0-9a-f]{32}$", description="TaskRouter workflow for <Enqueue>"
    )
    twilio_voice: str | None = Field(None, max_length=64, description="<Say voice=...>")

    @field_validator("transfer")
    @classmethod
    def _uris(cls, value: dict[str, str]) -> dict[str, str]:
        for name, uri in value.items():
            if not uri.startswith(("tel:", "sip:", "sips:")) or " " in uri:
                raise ValueError(f"{name}: {uri!r} is not a tel:, sip: or sips: URI")
        return value


class DispatcherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    embedded: bool = Field(True, description="run a dispatcher inside `forecall serve`")
    batch: int = Field(200, ge=1, le=5000)
    concurrency: int = Field(64, ge=1, le=1000)
    max_attempts: int = Field(6, ge=1, le=50)
    lease_seconds: float = Field(60.0, gt=0)
    base_delay: float = Field(2.0, gt=0)
    max_claims: int = Field(
        5,
        ge=1,
        le=100,
        description="claims without an answer (its workers died on it) before a message "
        "goes to the dead letters as a poison message",
    )
    retention_days: float = Field(
        30.0, ge=0, description="days finished outbox messages are kept; 0 keeps them forever"
    )
    sweep_hour_utc: int | None = Field(
        6, ge=0, le=23, description="when the embedded dispatcher runs the daily sweep"
    )


class LimitSettings(BaseModel):
    """Sizes past which a request or a message is refused (413 or 422), never half-read."""

    model_config = ConfigDict(extra="forbid")

    body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="largest request body on any route"
    )
    batch_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="largest body of a batch (POST /v1/events)"
    )
    message_bytes: int = Field(
        4096, ge=256, le=65536, description="largest rendered message text (UTF-8 bytes)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FORECALL_", env_nested_delimiter="__", extra="forbid"
    )

    store: str = Field(
        "sqlite:///./forecall.db",
        description="sqlite:///path, redis://host or redis+cluster://host:port,...",
    )
    admin_key: SecretStr | None = Field(
        None, description="Bootstrap key with every scope; kept only as a hash in memory"
    )
    model_dir: Path = DEFAULT_MODEL_DIR
    scenario_file: Path | None = None
    followups_file: Path | None = Field(
        None, description="follow-up scenarios YAML; the built-in pack when unset"
    )
    default_time_zone: TimeZoneName = "Europe/Moscow"
    default_region: str = Field("RU", pattern=r"^[A-Z]{2}$", description="for phone numbers")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    max_batch_events: int = Field(1000, ge=1, le=10_000)
    event_types: dict[str, EventTypeConfig] = Field(default_factory=dict)
    inbound_budget_ms: float = Field(
        150.0, gt=0, le=5000, description="answer /v1/inbound within this, or degrade"
    )
    twilio_auth_token: SecretStr | None = Field(None, description="checks X-Twilio-Signature")
    public_base_url: str | None = Field(
        None, description="the URL Twilio calls us at, when a proxy rewrites it"
    )
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    dispatcher: DispatcherSettings = Field(default_factory=DispatcherSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    demo: bool = False
    demo_customers: int = Field(2000, ge=10, le=200_000)

    @field_validator("store")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        schemes = ("sqlite://", "redis://", "rediss://", "unix://", "redis+cluster://")
        if not value.startswith(schemes):
            raise ValueError(
                "must start with sqlite://, redis://, rediss://, unix:// or redis+cluster://"
            )
        return value

    @field_validator("event_types")
    @classmethod
    def _valid_names(cls, value: dict[str, EventTypeConfig]) -> dict[str, EventTypeConfig]:
        for name, config in value.items():
            if not name.isidentifier() or not name.islower():
                raise ValueError(f"{name!r}: event type names are lower_snake_case")
            if config.amount_field and config.amount_field not in config.fields:
                raise ValueError(f"{name}.amount_field must be one of its required fields")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("FORECALL_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise FileNotFoundError(f"FORECALL_CONFIG points to no file: {config_file}")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return (*sources, file_secret_settings)
