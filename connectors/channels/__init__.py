"""Channel connectors, chosen by the `kind` in each channel's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from connectors.channels.base import Channel


def open_channel(name: str, config: Mapping[str, Any], client: httpx.AsyncClient) -> Channel:
    kind = config.get("kind")
    try:
        if kind == "webhook":
            from connectors.channels.webhook import WebhookChannel, WebhookConfig

            return WebhookChannel(name, WebhookConfig.model_validate(dict(config)), client)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{name}.{where}: {first['msg']}") from None
    raise ValueError(f"{name}.kind: unknown channel kind {kind!r}; kinds: webhook")


__all__ = ["Channel", "open_channel"]
