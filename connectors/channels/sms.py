"""A generic HTTP SMS gateway, described by configuration rather than code.

Most SMS gateways take a phone, a text, a sender name and a client message id as form or
JSON fields, answer with a message id or an error code, and later call us back with
delivery statuses and inbound messages. The config names those fields, the JSON paths of
the answer, and which error codes are final; `smsc.py` is such a description for SMSC.ru.

Reading a reply:
    an error code at `reply.error_code` -> permanent if listed in `permanent_codes`, else
                                          retried (after `retry_after[code]` or Retry-After);
                                          an unlisted code on an HTTP 4xx is permanent
    no error code, HTTP 2xx              -> accepted; the id at `reply.id`, if any
    HTTP 408/429/5xx, timeouts           -> retried; other HTTP 4xx -> permanent

Send with POST: a GET puts the phone and the text in the URL, and URLs end up in logs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import (
    header,
    http_refusal,
    http_timeout,
    redact,
    retry_after,
    same_secret,
    unreachable,
)
from core.errors import ProviderError

log = logging.getLogger("forecall.channels.sms")


class SmsFields(BaseModel):
    """The gateway's parameter name for each thing we send; None leaves it out."""

    model_config = ConfigDict(extra="forbid")

    phone: str = "phone"
    text: str = "text"
    sender: str | None = "sender"
    client_id: str | None = "client_id"


class SmsReplyPaths(BaseModel):
    """Dotted JSON paths into the gateway's answer ("message.id", "results.0.id")."""

    model_config = ConfigDict(extra="forbid")

    id: str = "id"
    error_code: str | None = "error_code"
    error_message: str | None = "error"


class SmsCallbackConfig(BaseModel):
    """How the gateway calls us back: a shared secret in a header, JSON or form fields."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr = Field(min_length=16)
    secret_header: str = "X-Callback-Token"
    id_field: str = "id"
    id_is_ours: bool = True  # the gateway echoes the client id we sent, i.e. our message id
    status_field: str = "status"
    error_field: str | None = "error"
    phone_field: str = "phone"
    text_field: str = "text"  # present and non-empty: an inbound SMS, not a status
    time_field: str | None = "time"
    delivered: list[str] = Field(default_factory=lambda: ["delivered"])
    read: list[str] = Field(default_factory=lambda: ["read"])
    failed: list[str] = Field(default_factory=lambda: ["failed", "undelivered", "expired"])
    permanent: list[str] = Field(default_factory=lambda: ["rejected", "invalid_number"])


class HttpSmsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["http_sms"] = "http_sms"
    url: AnyHttpUrl
    method: Literal["POST", "GET"] = "POST"
    encoding: Literal["form", "json"] = "form"  # the POST body
    fields: SmsFields = Field(default_factory=SmsFields)
    sender: str | None = None
    params: dict[str, str] = Field(default_factory=dict)  # fixed extras: fmt=3, charset...
    secret_params: dict[str, SecretStr] = Field(default_factory=dict)  # login, psw, api_key
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # Authorization: Bearer ...
    phone_format: Literal["e164", "digits"] = "e164"  # "+79991234567" or "79991234567"
    reply: SmsReplyPaths = Field(default_factory=SmsReplyPaths)
    permanent_codes: list[str] = Field(default_factory=list)
    retry_after: dict[str, float] = Field(default_factory=dict)  # seconds, per error code
    max_length: int = Field(1000, ge=1)
    timeout: float = Field(10.0, gt=0, le=120)
    callback: SmsCallbackConfig | None = None


class HttpSmsChannel:
    def __init__(self, name: str, config: HttpSmsConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._url = str(config.url)
        self._timeout = http_timeout(config.timeout)
        self._headers = {k: v.get_secret_value() for k, v in config.headers.items()}
        self._fixed = {
            **config.params,
            **{k: v.get_secret_value() for k, v in config.secret_params.items()},
        }

    def client_id(self, message: OutboundMessage) -> str:
        """The id the gateway dedupes by and echoes in callbacks; profiles may encode it."""
        return message.id

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.text.strip():
            raise ProviderError(self.name, "empty text", permanent=True)
        if len(message.text) > self.config.max_length:
            raise ProviderError(
                self.name, f"text longer than {self.config.max_length} chars", permanent=True
            )
        try:
            reply = await self._request(self._params(message))
        except httpx.RequestError as exc:
            log.info(
                "sms gateway unreachable", extra={"message_id": message.id, "channel": self.name}
            )
            raise unreachable(self.name, exc) from exc
        data = _json(reply.content)
        paths = self.config.reply
        code = _lookup(data, paths.error_code) if paths.error_code else None
        if code in (None, "", 0, "0") and reply.is_success:
            provider_id = _lookup(data, paths.id)
            return SendResult(str(provider_id) if provider_id not in (None, "") else None)
        detail = _lookup(data, paths.error_message) if paths.error_message else None
        error = self._refusal(reply, code, str(detail or reply.reason_phrase or ""))
        log.info(
            "sms gateway refused",
            extra={
                "message_id": message.id,
                "channel": self.name,
                "code": error.provider_code,
                "permanent": error.permanent,
            },
        )
        raise error

    def _params(self, message: OutboundMessage) -> dict[str, str]:
        fields = self.config.fields
        phone = message.address
        if self.config.phone_format == "digits":
            phone = "".join(ch for ch in phone if ch.isdigit())
        params = {**self._fixed, fields.phone: phone, fields.text: message.text}
        if fields.sender and self.config.sender:
            params[fields.sender] = self.config.sender
        if fields.client_id:
            params[fields.client_id] = self.client_id(message)
        return params

    async def _request(self, params: dict[str, str]) -> httpx.Response:
        if self.config.method == "GET":
            return await self.client.get(
                self._url, params=params, headers=self._headers, timeout=self._timeout
            )
        if self.config.encoding == "json":
            headers = {**self._headers, "Content-Type": "application/json"}
            return await self.client.post(
                self._url, content=orjson.dumps(params), headers=headers, timeout=self._timeout
            )
        return await self.client.post(
            self._url, data=params, headers=self._headers, timeout=self._timeout
        )

    def _refusal(self, reply: httpx.Response, code: Any, detail: str) -> ProviderError:
        if code in (None, "", 0, "0"):
            return http_refusal(self.name, reply, detail)
        key = str(code)
        transient_http = (
            reply.is_success or reply.status_code in (408, 429) or (reply.status_code >= 500)
        )
        permanent = key in self.config.permanent_codes or (
            key not in self.config.retry_after and not transient_http
        )
        wait = self.config.retry_after.get(key)
        if wait is None:
            wait = retry_after(reply.headers.get("retry-after"))
        return ProviderError(
            self.name,
            f"error {key}: {redact(detail)}" if detail else f"error {key}",
            permanent=permanent,
            retry_after=None if permanent else wait,
            provider_code=key,
        )

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        setup = self.config.callback
        if setup is None:
            raise CallbackRejected("no callback configured for this channel")
        if not same_secret(header(headers, setup.secret_header), setup.secret.get_secret_value()):
            raise CallbackRejected(f"{setup.secret_header} does not match")
        items = callback_items(headers, body)
        return [e for e in (self._event(setup, item) for item in items) if e is not None]

    def _event(self, setup: SmsCallbackConfig, item: Mapping[str, Any]) -> CallbackEvent | None:
        at = _seconds(item.get(setup.time_field)) if setup.time_field else None
        phone = _text(item.get(setup.phone_field))
        reply_text = _text(item.get(setup.text_field))
        provider_id = _text(item.get(setup.id_field))
        if reply_text:
            return CallbackEvent("reply", None, provider_id, phone, reply_text, at)
        status = _text(item.get(setup.status_field))
        kind: Literal["delivered", "read", "failed"]
        if status in setup.delivered:
            kind = "delivered"
        elif status in setup.read:
            kind = "read"
        elif status in setup.failed or status in setup.permanent:
            kind = "failed"
        else:
            return None  # queued, sent to the operator...: nothing we track
        error = _text(item.get(setup.error_field)) if setup.error_field else None
        ours = provider_id if setup.id_is_ours else None
        return CallbackEvent(
            kind,
            ours,
            provider_id,
            phone,
            None,
            at,
            error=redact(error or status or "") if kind == "failed" else None,
            permanent=status in setup.permanent,
        )

    async def aclose(self) -> None:
        return None  # the shared client belongs to the caller


def callback_items(headers: Mapping[str, str], body: bytes) -> list[dict[str, Any]]:
    """A callback body as a list of flat objects: JSON (one or a list) or a form."""
    text = _decode(body)
    kind = header(headers, "content-type") or ""
    stripped = text.lstrip()
    if "json" in kind or stripped.startswith(("{", "[")):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise CallbackRejected("callback body is not valid JSON") from None
        items = data if isinstance(data, list) else [data]
        if not all(isinstance(item, dict) for item in items):
            raise CallbackRejected("callback JSON must be an object or a list of objects")
        return items
    if not stripped:
        raise CallbackRejected("empty callback body")
    try:
        return [dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))]
    except ValueError:
        raise CallbackRejected("callback body is neither JSON nor a form") from None


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        # Russian gateways default to windows-1251 unless told charset=utf-8.
        return body.decode("cp1251", errors="replace")


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _seconds(value: Any) -> float | None:
    try:
        moment = float(value)
    except (TypeError, ValueError):
        return None
    # Some gateways send milliseconds; nothing we send predates 2001 (1e9 s).
    return moment / 1000 if moment > 1e11 else moment if moment > 1e9 else None
