"""Viber over its REST bot API: `POST {base_url}/pa/send_message` with X-Viber-Auth-Token.

The address is the customer's Viber user id (given to the bot when they subscribe). The
reply's `status` (Viber's documented codes) maps like this:

    0 ok                                                       -> sent; id = message_token
    12 too many requests                                       -> retry
    1 invalid url, 2 invalid auth token, 3 bad data, 4 missing data,
    5 receiver not registered, 6 not subscribed, 7 account blocked, 8 not found,
    9 suspended, 10 webhook not set, 11 no suitable device, 13/14 version  -> permanent
    HTTP 5xx, timeouts                                         -> retry

Callbacks (set_webhook to `https://<host>/v1/channels/<name>/callback`) are signed
`X-Viber-Content-Signature: <hex HMAC-SHA256 of the body with the auth token>`: delivered,
seen (read) and failed update the message; `message` is a reply; `unsubscribed` stops the
channel for the customer at once (it is a reply of "stop" in our terms).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import (
    header,
    http_refusal,
    http_timeout,
    json_object,
    redact,
    same_secret,
    unreachable,
)
from core.errors import ProviderError

log = logging.getLogger("forecall.channels.viber")
SIGNATURE_HEADER = "X-Viber-Content-Signature"
RETRY_STATUSES = frozenset({12})
MAX_TEXT = 7000
_STATUS: dict[str, Literal["delivered", "read", "failed"]] = {
    "delivered": "delivered",
    "seen": "read",
    "failed": "failed",
}


class ViberConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["viber"] = "viber"
    auth_token: SecretStr = Field(min_length=1)
    sender_name: str = Field(min_length=1, max_length=28)
    sender_avatar: AnyHttpUrl | None = None
    base_url: AnyHttpUrl = AnyHttpUrl("https://chatapi.viber.com")
    timeout: float = Field(10.0, gt=0, le=120)


class ViberChannel:
    def __init__(self, name: str, config: ViberConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._url = f"{str(config.base_url).rstrip('/')}/pa/send_message"
        self._token = config.auth_token.get_secret_value()
        self._headers = {"Content-Type": "application/json", "X-Viber-Auth-Token": self._token}
        self._timeout = http_timeout(config.timeout)

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.text.strip() or len(message.text) > MAX_TEXT:
            raise ProviderError(self.name, f"text empty or over {MAX_TEXT} chars", permanent=True)
        sender: dict[str, str] = {"name": self.config.sender_name}
        if self.config.sender_avatar:
            sender["avatar"] = str(self.config.sender_avatar)
        payload = {
            "receiver": message.address,
            "type": "text",
            "text": message.text,
            "sender": sender,
            "tracking_data": message.id,
        }
        try:
            reply = await self.client.post(
                self._url,
                content=orjson.dumps(payload),
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.RequestError as exc:
            raise unreachable(self.name, exc) from exc
        if not reply.is_success:
            raise http_refusal(self.name, reply, reply.text[:200])
        data = json_object(reply.content)
        status = data.get("status")
        if status == 0:
            return SendResult(str(data.get("message_token")))
        code = status if isinstance(status, int) else -1
        transient = code in RETRY_STATUSES or code == -1
        log.info(
            "viber refused",
            extra={
                "message_id": message.id,
                "channel": self.name,
                "code": code,
                "permanent": not transient,
            },
        )
        raise ProviderError(
            self.name,
            f"status {code}: {redact(str(data.get('status_message', 'no answer')))}",
            permanent=not transient,
            retry_after=60.0 if code in RETRY_STATUSES else None,
            provider_code=str(code),
        )

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        expected = hmac.new(self._token.encode(), body, hashlib.sha256).hexdigest()
        if not same_secret(header(headers, SIGNATURE_HEADER), expected):
            raise CallbackRejected(f"{SIGNATURE_HEADER} does not match")
        data = json_object(body)
        event = str(data.get("event", ""))
        at = data.get("timestamp")
        moment = float(at) / 1000 if isinstance(at, int | float) else None  # Viber sends ms
        token = data.get("message_token")
        provider_id = str(token) if token is not None else None
        kind = _STATUS.get(event)
        if kind is not None:
            error = redact(str(data.get("desc", "failed"))) if kind == "failed" else None
            return [
                CallbackEvent(
                    kind, None, provider_id, _text(data.get("user_id")), None, moment, error=error
                )
            ]
        if event == "unsubscribed":
            return [CallbackEvent("reply", None, None, _text(data.get("user_id")), "stop", moment)]
        if event == "message":
            sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
            content = data.get("message") if isinstance(data.get("message"), dict) else {}
            assert isinstance(sender, dict) and isinstance(content, dict)
            text = content.get("text")
            if content.get("type") == "text" and isinstance(text, str):
                return [
                    CallbackEvent("reply", None, provider_id, _text(sender.get("id")), text, moment)
                ]
        return []  # webhook, subscribed, conversation_started: nothing to record

    async def aclose(self) -> None:
        return None


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
