"""Channel connectors, chosen by the `kind` in each channel's settings.

A connector is configured, not coded: each kind names the module and the classes that
implement it; its settings are validated by its pydantic model at start-up, and the
first error names the setting (`channels.sms.login: Field required`).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

import httpx
from pydantic import ValidationError

from connectors.channels.base import Channel

# kind -> (module, channel class, settings model). Imported lazily: a deployment with
# only Telegram configured never imports the SMTP client.
KINDS: dict[str, tuple[str, str, str]] = {
    "webhook": ("connectors.channels.webhook", "WebhookChannel", "WebhookConfig"),
    "telegram": ("connectors.channels.telegram", "TelegramChannel", "TelegramConfig"),
    "http_sms": ("connectors.channels.sms", "HttpSmsChannel", "HttpSmsConfig"),
    "smsc": ("connectors.channels.smsc", "SmscChannel", "SmscConfig"),
    "smtp": ("connectors.channels.email", "EmailChannel", "EmailConfig"),
    "whatsapp": ("connectors.channels.whatsapp", "WhatsAppChannel", "WhatsAppConfig"),
    "viber": ("connectors.channels.viber", "ViberChannel", "ViberConfig"),
    "fcm": ("connectors.channels.fcm", "FcmChannel", "FcmConfig"),
    # The demo's local inbox: nothing leaves the machine (the console shows it).
    "sandbox": ("connectors.channels.sandbox", "SandboxChannel", "SandboxConfig"),
    # Timeline comments in the CRM: notes travel the outbox like messages.
    "bitrix24": ("connectors.crm.bitrix24", "Bitrix24", "Bitrix24Config"),
    "amocrm": ("connectors.crm.amocrm", "AmoCrm", "AmoCrmConfig"),
}


def open_channel(name: str, config: Mapping[str, Any], client: httpx.AsyncClient) -> Channel:
    kind = config.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ValueError(f"{name}.kind: unknown channel kind {kind!r}; kinds: {known}")
    module_name, channel_class, config_class = KINDS[kind]
    module = import_module(module_name)
    try:
        settings = getattr(module, config_class).model_validate(dict(config))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        why = str(first["msg"]).removeprefix("Value error, ")  # a validator's own words
        raise ValueError(f"{name}.{where}: {why}" if where else f"{name}: {why}") from None
    channel: Channel = getattr(module, channel_class)(name, settings, client)
    return channel


__all__ = ["KINDS", "Channel", "open_channel"]
