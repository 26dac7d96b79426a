"""An outbound webhook signed with HMAC-SHA256, the way Stripe signs its events:

    X-Forecall-Signature: t=<unix seconds>,v1=<hex hmac_sha256(secret, f"{t}.{body}")>
    Idempotency-Key: <our message id>

The timestamp is inside the signed text, so a captured request cannot be replayed later
than `tolerance` seconds; the receiver dedupes by the key, so our retry after a lost
reply is not a second message. Callbacks to us (delivery receipts, replies) are signed the
same way and read by `parse_signed_events`.

Replies: 2xx accepted; 408, 429 and 5xx retried (Retry-After honoured); any other 4xx final.

Bulk (when `batch_size` > 1): `{"messages": [<the single body>, ...]}` is POSTed to
`batch_url` (default: `url`), signed the same way, with no Idempotency-Key header (each
message carries its `id`, the key to dedupe by). The receiver answers 2xx with
`{"results": [{"id": ..., "provider_message_id": ..., "error": ..., "permanent": ...}]}`,
one entry per message; a message with no entry, or with an `error`, is refused (retried
unless `permanent` is true). A non-2xx reply refuses the whole batch as above.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import header, http_refusal, http_timeout, redact, unreachable
from core.errors import ProviderError

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
    batch_size: int = Field(1, ge=1, le=1000, description="messages per bulk request")
    batch_url: AnyHttpUrl | None = None


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
        self.max_batch = config.batch_size
        self._batch_url = str(config.batch_url or config.url)

    async def send(self, message: OutboundMessage) -> SendResult:
        body = orjson.dumps(_payload(message))
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

    async def send_many(
        self, messages: Sequence[OutboundMessage]
    ) -> list[SendResult | ProviderError]:
        body = orjson.dumps({"messages": [_payload(m) for m in messages]})
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body, time.time()),
        }
        try:
            reply = await self.client.post(
                self._batch_url,
                content=body,
                headers=headers,
                timeout=http_timeout(self.config.timeout),
            )
        except httpx.RequestError as exc:
            log.info("webhook unreachable", extra={"channel": self.name, "batch": len(messages)})
            raise unreachable(self.name, exc) from exc
        if not reply.is_success:
            log.info(
                "webhook refused a batch",
                extra={"channel": self.name, "status": reply.status_code, "batch": len(messages)},
            )
            raise http_refusal(self.name, reply, reply.reason_phrase)
        return _batch_results(self.name, reply, messages)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        return parse_signed_events(self._secret, headers, body, time.time())

    async def aclose(self) -> None:
        return None  # the shared client belongs to the caller


def _payload(message: OutboundMessage) -> dict[str, Any]:
    return {
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


def _batch_results(
    name: str, reply: httpx.Response, messages: Sequence[OutboundMessage]
) -> list[SendResult | ProviderError]:
    try:
        data = orjson.loads(reply.content)
        entries = data["results"] if isinstance(data, dict) else None
    except (orjson.JSONDecodeError, KeyError):
        entries = None
    if not isinstance(entries, list):
        # Accepted, but we cannot tell which: sending again is safe (the receiver
        # dedupes by id) and better than assuming all went through.
        refusal = ProviderError(name, "bulk reply without a results list", permanent=False)
        return [refusal] * len(messages)
    by_id = {str(e.get("id")): e for e in entries if isinstance(e, dict)}
    results: list[SendResult | ProviderError] = []
    for message in messages:
        entry = by_id.get(message.id)
        if entry is None:
            results.append(ProviderError(name, "no result for this message", permanent=False))
        elif entry.get("error"):
            detail = redact(str(entry["error"]))
            results.append(ProviderError(name, detail, permanent=bool(entry.get("permanent"))))
        else:
            provider_id = entry.get("provider_message_id")
            results.append(SendResult(str(provider_id) if provider_id else None))
    return results


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
