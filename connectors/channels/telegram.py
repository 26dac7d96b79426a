"""Telegram over the Bot API: `POST {base_url}/bot{token}/sendMessage`.

Telegram has no idempotency key: a retry after a reply we never read (a timeout after
Telegram accepted the request) can show the customer the message twice. We keep that
window small -- short timeouts, no retry of our own here (the dispatcher decides) --
and accept it; there is nothing in the Bot API to close it.

Replies map to ProviderError like this:

    ok=true                                  -> provider id = result.message_id
    429 (parameters.retry_after, Retry-After) -> retry, no sooner than asked
    5xx, timeouts, connection errors         -> retry
    400 chat not found, 403 bot was blocked by the user, 403 user is deactivated,
    any other 4xx (message too long, bad token...) -> permanent

Callbacks are webhook updates (`setWebhook` with `secret_token`): Telegram sends the secret
back in `X-Telegram-Bot-Api-Secret-Token`, and a `message` with text becomes a reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import (
    header,
    http_timeout,
    json_object,
    redact,
    retry_after,
    same_secret,
    unreachable,
)
from core.errors import ProviderError

log = logging.getLogger("forecall.channels.telegram")
MAX_TEXT = 4096  # Bot API limit for sendMessage text, in characters after entity parsing
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_JSON = {"Content-Type": "application/json"}
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["telegram"] = "telegram"
    token: SecretStr = Field(min_length=1)
    base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    # The secret_token given to setWebhook: 1-256 of A-Z, a-z, 0-9, _ and -.
    webhook_secret: SecretStr | None = None
    parse_mode: Literal["HTML", "MarkdownV2"] | None = None
    disable_notification: bool = False
    timeout: float = Field(10.0, gt=0, le=120)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.match(value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


class TelegramChannel:
    def __init__(self, name: str, config: TelegramConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        base = str(config.base_url).rstrip("/")
        self._url = f"{base}/bot{config.token.get_secret_value()}/sendMessage"
        self._timeout = http_timeout(config.timeout)

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.text.strip():
            raise ProviderError(self.name, "empty text", permanent=True)
        if len(message.text) > MAX_TEXT:
            raise ProviderError(self.name, f"text longer than {MAX_TEXT} chars", permanent=True)
        payload: dict[str, Any] = {"chat_id": message.address, "text": message.text}
        if self.config.parse_mode:
            payload["parse_mode"] = self.config.parse_mode
        if self.config.disable_notification:
            payload["disable_notification"] = True
        try:
            reply = await self.client.post(
                self._url, content=orjson.dumps(payload), headers=_JSON, timeout=self._timeout
            )
        except httpx.RequestError as exc:
            log.info("telegram unreachable", extra={"message_id": message.id, "channel": self.name})
            raise unreachable(self.name, exc) from exc
        data = json_object(reply.content)
        if reply.status_code == 200 and data.get("ok") is True:
            result = data.get("result")
            sent_id = result.get("message_id") if isinstance(result, dict) else None
            return SendResult(str(sent_id) if sent_id is not None else None)
        error = self._refusal(reply, data)
        log.info(
            "telegram refused",
            extra={
                "message_id": message.id,
                "channel": self.name,
                "code": error.provider_code,
                "permanent": error.permanent,
            },
        )
        raise error

    def _refusal(self, reply: httpx.Response, data: dict[str, Any]) -> ProviderError:
        code = data.get("error_code")
        status = code if isinstance(code, int) else reply.status_code
        description = str(data.get("description") or reply.reason_phrase or "no description")
        parameters = data.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        delay = float(wait) if isinstance(wait, int | float) else None
        if delay is None:
            delay = retry_after(reply.headers.get("retry-after"))
        transient = status in (408, 429) or status >= 500 or reply.status_code >= 500
        if reply.status_code == 200 and not data:
            transient = True  # a proxy's HTML page, not Telegram: try again
        return ProviderError(
            self.name,
            f"HTTP {status}: {redact(description)}",
            permanent=not transient,
            retry_after=delay if transient else None,
            provider_code=str(status),
        )

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        secret = self.config.webhook_secret
        if secret is None:
            raise CallbackRejected("no webhook_secret configured for this channel")
        if not same_secret(header(headers, SECRET_HEADER), secret.get_secret_value()):
            raise CallbackRejected(f"{SECRET_HEADER} does not match")
        update = json_object(body)
        if not update:
            raise CallbackRejected("update is not a JSON object")
        # Edits and channel posts are not new answers to us; other update kinds carry no text.
        message = update.get("message")
        if not isinstance(message, dict):
            return []
        chat = message.get("chat")
        text = message.get("text")
        if not isinstance(chat, dict) or "id" not in chat or not isinstance(text, str):
            return []
        date = message.get("date")
        sent_id = message.get("message_id")
        return [
            CallbackEvent(
                kind="reply",
                message_id=None,
                provider_message_id=str(sent_id) if sent_id is not None else None,
                address=str(chat["id"]),
                text=text,
                at=float(date) if isinstance(date, int | float) else None,
            )
        ]

    async def aclose(self) -> None:
        return None  # the shared client belongs to the caller
