"""An outbound webhook signed with HMAC-SHA256, the way Stripe signs its events:

    X-Forecall-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, f"{t}.{body}")>
    Idempotency-Key: <our message id>

The timestamp is inside the signed text, so a captured request cannot be replayed later
than `tolerance` seconds; the receiver dedupes by the key, so our retry after a lost
reply is not a second message. Callbacks to us (delivery receipts, replies) are signed the
same way and read by `parse_signed_events`.

Replies: 2xx accepted; 408, 429 and 5xx retried (Retry-After honoured); any other 4xx final.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import header, http_refusal, http_timeout, unreachable

log = logging.getLogger("forecall.channels.webhook")
SIGNATURE_HEADER = "X-Forecall-Signature"
TOLERANCE = 300.0
_KINDS = frozenset({"delivered", "read", "failed", "reply"})


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"] = "webhook"
    url: AnyHttpUrl
    secret: SecretStr = Field(min_length=16)
    timeout: float = Field(10.0, gt=0, le=120)
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # e.g. Authorization


def sign(secret: str, body: bytes, now: float) -> str:
    stamp = str(int(now))
    return f"t={stamp},v1={_digest(secret, stamp, body)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now: float, tolerance: float = TOLERANCE
) -> None:
    """Raise CallbackRejected unless `header` signs `body` with `secret`, recently.

    Several `v1=` entries may be present (a sender rotating its secret signs with both).
    """
    if not header:
        raise CallbackRejected(f"no {SIGNATURE_HEADER} header")
    stamp: str | None = None
    given: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamp = value
        elif key == "v1":
            given.append(value)
    if stamp is None or not stamp.isdigit() or not given:
        raise CallbackRejected("malformed signature header (want t=<unix>,v1=<hex>)")
    if abs(now - int(stamp)) > tolerance:
        raise CallbackRejected("signature timestamp outside the tolerance (replay protection)")
    expected = _digest(secret, stamp, body)
    # Check every candidate, so timing does not tell which one was close.
    matches = [hmac.compare_digest(expected, candidate) for candidate in given]
    if not any(matches):
        raise CallbackRejected("signature does not match the body")


def parse_signed_events(
    secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> list[CallbackEvent]:
    """Our own callback format: one event object or a list of them, signed as above."""
    verify_signature(secret, header(headers, SIGNATURE_HEADER), body, now)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise CallbackRejected("callback body is not JSON") from None
    items = data if isinstance(data, list) else [data]
    return [_event(item) for item in items]


class WebhookChannel:
    def __init__(self, name: str, config: WebhookConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._url = str(config.url)
        self._secret = config.secret.get_secret_value()
        self._headers = {k: v.get_secret_value() for k, v in config.headers.items()}

    async def send(self, message: OutboundMessage) -> SendResult:
        body = orjson.dumps(
            {
                "id": message.id,
                "customer_id": message.customer_id,
                "channel": message.channel,
                "address": message.address,
                "text": message.text,
                "subject": message.subject,
                "template": message.template,
                "params": dict(message.params),
                "locale": message.locale,
                "metadata": dict(message.metadata),
            }
        )
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Idempotency-Key": message.id,
            SIGNATURE_HEADER: sign(self._secret, body, time.time()),
        }
        try:
            reply = await self.client.post(
                self._url, content=body, headers=headers, timeout=http_timeout(self.config.timeout)
            )
        except httpx.RequestError as exc:
            log.info("webhook unreachable", extra={"message_id": message.id, "channel": self.name})
            raise unreachable(self.name, exc) from exc
        if reply.is_success:
            return SendResult(_provider_id(reply))
        log.info(
            "webhook refused",
            extra={"message_id": message.id, "channel": self.name, "status": reply.status_code},
        )
        raise http_refusal(self.name, reply, reply.reason_phrase)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        return parse_signed_events(self._secret, headers, body, time.time())

    async def aclose(self) -> None:
        return None  # the shared client belongs to the caller


def _digest(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _provider_id(reply: httpx.Response) -> str | None:
    """A receiver may answer {"id": ...}; anything else is fine too."""
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        data = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value not in (None, "") else None


def _event(item: Any) -> CallbackEvent:
    if not isinstance(item, dict):
        raise CallbackRejected("each callback event must be a JSON object")
    kind = item.get("kind")
    if kind not in _KINDS:
        raise CallbackRejected(f"kind must be one of {sorted(_KINDS)}")
    at = item.get("at")
    if at is not None and not isinstance(at, int | float):
        raise CallbackRejected("at must be unix seconds")
    fields = ("message_id", "provider_message_id", "address", "text", "error")
    values = {f: item.get(f) for f in fields}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise CallbackRejected(f"{', '.join(fields)} must be strings")
    return CallbackEvent(
        kind=kind,
        at=float(at) if at is not None else None,
        permanent=bool(item.get("permanent", False)),
        **values,
    )
