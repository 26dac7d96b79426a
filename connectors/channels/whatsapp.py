"""WhatsApp Business Cloud API: `POST {base_url}/{api_version}/{phone_number_id}/messages`.

Outside the 24-hour customer-service window WhatsApp takes only approved templates: a
message that carries a template name (a scenario's `provider_template`, an incident's
per-channel `template`) goes as that template with its body parameters; one without goes
as free text, and if the window is closed WhatsApp refuses it (131047), which is final for
this message on this channel, so the dispatcher tries the customer's next channel.

Error codes (Meta's Cloud API error reference) map like this:

    131047 re-engagement needed (window closed), 131026 undeliverable, 131051 unsupported
    type, 131008/131009/100 bad parameter, 132000/132001 template problems, 131030 number
    not allowed, 190 token expired, 10/200 permissions, other 4xx   -> permanent
    130429 throughput, 131056 pair rate limit, 131048 spam rate limit, 80007 account rate
    limit, 4/613 call limits, 131000/131016 service trouble, 2/1 unknown, 5xx, timeouts
                                                                        -> retry

Webhooks: subscribe `https://<host>/v1/channels/<name>/callback` with your verify token
(GET hub.challenge handshake), and each POST is signed `X-Hub-Signature-256:
sha256=<HMAC-SHA256 of the raw body with the app secret>`. Statuses (sent, delivered,
read, failed) update the message; a text from the customer is a reply.
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
    http_timeout,
    json_object,
    redact,
    retry_after,
    same_secret,
    unreachable,
)
from core.errors import ProviderError

log = logging.getLogger("forecall.channels.whatsapp")
SIGNATURE_HEADER = "X-Hub-Signature-256"
RETRY_CODES = frozenset({130429, 131056, 131048, 80007, 4, 613, 131000, 131016, 1, 2})
RATE_CODES = {130429: 10.0, 131056: 60.0, 131048: 300.0, 80007: 60.0, 4: 60.0, 613: 60.0}
_JSON = {"Content-Type": "application/json"}
_STATUS: dict[str, Literal["delivered", "read", "failed"]] = {
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
}


class WhatsAppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["whatsapp"] = "whatsapp"
    access_token: SecretStr = Field(min_length=1)
    phone_number_id: str = Field(pattern=r"^\d{5,20}$")
    app_secret: SecretStr | None = None  # checks X-Hub-Signature-256 on webhooks
    verify_token: SecretStr | None = None  # the GET subscription handshake
    base_url: AnyHttpUrl = AnyHttpUrl("https://graph.facebook.com")
    api_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$")
    template_language: str = Field("ru", pattern=r"^[a-z]{2}(_[A-Z]{2})?$")
    timeout: float = Field(10.0, gt=0, le=120)


class WhatsAppChannel:
    def __init__(self, name: str, config: WhatsAppConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        base = str(config.base_url).rstrip("/")
        self._url = f"{base}/{config.api_version}/{config.phone_number_id}/messages"
        self._headers = {
            **_JSON,
            "Authorization": f"Bearer {config.access_token.get_secret_value()}",
        }
        self._timeout = http_timeout(config.timeout)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        to = "".join(ch for ch in message.address if ch.isdigit())  # E.164 without "+"
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        }
        if message.template:
            parameters = [{"type": "text", "text": str(v)} for v in message.params.values()]
            template: dict[str, Any] = {
                "name": message.template,
                "language": {"code": self.config.template_language},
            }
            if parameters:
                template["components"] = [{"type": "body", "parameters": parameters}]
            return {**body, "type": "template", "template": template}
        return {**body, "type": "text", "text": {"preview_url": False, "body": message.text}}

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.template and not message.text.strip():
            raise ProviderError(self.name, "empty text", permanent=True)
        try:
            reply = await self.client.post(
                self._url,
                content=orjson.dumps(self.payload(message)),
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.RequestError as exc:
            raise unreachable(self.name, exc) from exc
        data = json_object(reply.content)
        if reply.is_success and isinstance(data.get("messages"), list) and data["messages"]:
            return SendResult(str(data["messages"][0].get("id")))
        error = self._refusal(reply, data)
        log.info(
            "whatsapp refused",
            extra={
                "message_id": message.id,
                "channel": self.name,
                "code": error.provider_code,
                "permanent": error.permanent,
            },
        )
        raise error

    def _refusal(self, reply: httpx.Response, data: dict[str, Any]) -> ProviderError:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        assert isinstance(error, dict)
        code = error.get("code")
        text = str(error.get("message") or reply.reason_phrase or "no description")
        if code == 131047:
            text = "outside the 24-hour window: only an approved template can be sent"
        transient = reply.status_code >= 500 or reply.status_code in (408, 429)
        if isinstance(code, int):
            transient = transient or code in RETRY_CODES
            if code not in RETRY_CODES and reply.status_code < 500:
                transient = False
        delay = retry_after(reply.headers.get("retry-after"))
        if transient and delay is None and isinstance(code, int):
            delay = RATE_CODES.get(code)
        return ProviderError(
            self.name,
            f"{code or reply.status_code}: {redact(text)}",
            permanent=not transient,
            retry_after=delay if transient else None,
            provider_code=str(code or reply.status_code),
        )

    def verify_subscription(self, params: Mapping[str, str]) -> str | None:
        """The webhook handshake: the challenge back when the verify token matches."""
        token = self.config.verify_token
        if token is None or params.get("hub.mode") != "subscribe":
            return None
        if not same_secret(params.get("hub.verify_token"), token.get_secret_value()):
            return None
        return params.get("hub.challenge")

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        secret = self.config.app_secret
        if secret is None:
            raise CallbackRejected("no app_secret configured for this channel")
        expected = (
            "sha256="
            + hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        )
        if not same_secret(header(headers, SIGNATURE_HEADER), expected):
            raise CallbackRejected(f"{SIGNATURE_HEADER} does not match")
        update = json_object(body)
        events: list[CallbackEvent] = []
        for entry in _list(update.get("entry")):
            for change in _list(entry.get("changes")):
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict):
                    continue
                for status in _list(value.get("statuses")):
                    kind = _STATUS.get(str(status.get("status")))
                    if kind is None:
                        continue  # "sent": we knew
                    errors = _list(status.get("errors"))
                    code = errors[0].get("code") if errors else None
                    events.append(
                        CallbackEvent(
                            kind,
                            None,
                            str(status.get("id")),
                            None,
                            None,
                            _seconds(status.get("timestamp")),
                            error=redact(f"{code}: {errors[0].get('title', '')}")
                            if errors
                            else None,
                            permanent=code in (131026, 131047, 131051),
                        )
                    )
                for incoming in _list(value.get("messages")):
                    text = (
                        incoming.get("text", {}).get("body")
                        if incoming.get("type") == "text"
                        else None
                    )
                    if not isinstance(text, str):
                        continue
                    events.append(
                        CallbackEvent(
                            "reply",
                            None,
                            str(incoming.get("id")),
                            str(incoming.get("from", "")),  # the wa_id: digits of E.164
                            text,
                            _seconds(incoming.get("timestamp")),
                        )
                    )
        return events

    async def aclose(self) -> None:
        return None


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
