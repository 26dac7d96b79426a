"""SMSC.ru: a profile of the generic HTTP gateway in `sms.py`, plus its callbacks.

Sending is `POST {base_url}/sys/send.php` (a form, so the phone, the text and the password
stay out of URLs and therefore out of logs) with login+psw or apikey, phones, mes, sender,
id=<client id>, fmt=3 (JSON) and charset=utf-8. The answer is {"id": ..., "cnt": ...} or
{"error": "...", "error_code": N}:

    1 bad parameters, 2 bad login or password, 5 bad date format,
    6 message forbidden (text or sender name), 7 invalid phone number,
    8 the number cannot be reached                          -> permanent
    3 not enough money      -> retried after 5 min (a top-up fixes it; dead letters revive)
    4 IP temporarily blocked after frequent errors         -> retried after 1 min
    9 the same send request again within a minute, or 15+ requests at once on one login
                            -> on a resend (an earlier request of ours may have got
                            through, its answer lost): accepted, SMSC has the first one;
                            on a first request: retried after a minute (it was the
                            concurrency limit, and nothing was sent)

`id` is ours: SMSC echoes it in status callbacks. It is "not necessarily unique" (SMSC's
words): SMSC does not dedupe by it, only refuses an identical request within a minute. So
a resend within a minute is dropped there, and one later (a dispatcher lease longer than
a minute ran out first) reaches the phone twice. It takes up to 40 of [A-Za-z0-9._-];
other message ids are sent as a stable hash ("fc-" + sha256).

Callbacks ("Передача статусов и сообщений на обработчик Клиента") are forms, or JSON with
fmt=3 in the handler URL. They are authenticated by the hash SMSC adds when the handler URL
carries md5=1 (or sha1=1): hash(":".join(fields) + ":" + secret). The field lists are
configuration because the exact formula should be checked against the account's docs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import redact
from connectors.channels.sms import (
    HttpSmsChannel,
    HttpSmsConfig,
    SmsFields,
    SmsReplyPaths,
    callback_items,
)
from core.errors import ProviderError

PERMANENT_CODES = ["1", "2", "5", "6", "7", "8"]
RETRY_AFTER = {"3": 300.0, "4": 60.0}
DUPLICATE = "9"
HASH_PREFIX = "fc-"
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")

# Message statuses SMSC reports (status=...): what each means for us.
DELIVERED = {1}
READ = {2, 4}  # 2 read, 4 a link in it was clicked
FAILED = {3, 20, 22, 23, 24, 25}  # expired, undeliverable, bad number, forbidden, no money...
PERMANENT_STATUS = {22, 25}  # invalid number, unreachable number
PERMANENT_ERR = {1}  # err=1 in a status: the subscriber does not exist


class SmscConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["smsc"] = "smsc"
    login: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None  # instead of login + password
    sender: str | None = Field(None, max_length=11)
    base_url: AnyHttpUrl = AnyHttpUrl("https://smsc.ru")
    timeout: float = Field(10.0, gt=0, le=120)
    permanent_codes: list[str] = Field(default_factory=lambda: list(PERMANENT_CODES))
    retry_after: dict[str, float] = Field(default_factory=lambda: dict(RETRY_AFTER))
    callback_hash: Literal["md5", "sha1"] = "md5"
    callback_secret: SecretStr | None = None  # what SMSC appends when hashing; default: password
    status_hash_fields: list[str] = Field(default_factory=lambda: ["id", "phone", "status"])
    reply_hash_fields: list[str] = Field(default_factory=lambda: ["sms_id", "phone", "mes"])

    @model_validator(mode="after")
    def _credentials(self) -> SmscConfig:
        if self.api_key is None and (not self.login or self.password is None):
            raise ValueError("give login and password, or api_key")
        return self

    def gateway(self) -> HttpSmsConfig:
        """The generic gateway description of SMSC's send.php."""
        if self.api_key is not None:
            secrets = {"apikey": self.api_key}
        else:
            assert self.login is not None and self.password is not None
            secrets = {"login": SecretStr(self.login), "psw": self.password}
        return HttpSmsConfig(
            url=AnyHttpUrl(f"{str(self.base_url).rstrip('/')}/sys/send.php"),
            fields=SmsFields(phone="phones", text="mes", sender="sender", client_id="id"),
            sender=self.sender,
            params={"fmt": "3", "charset": "utf-8"},
            secret_params=secrets,
            reply=SmsReplyPaths(id="id", error_code="error_code", error_message="error"),
            permanent_codes=self.permanent_codes,
            retry_after=self.retry_after,
            timeout=self.timeout,
        )


def smsc_id(message_id: str) -> str:
    """Our id when SMSC can carry it as is, else a stable hash of it (same on every retry)."""
    if _PLAIN_ID.match(message_id) and not message_id.startswith(HASH_PREFIX):
        return message_id
    return HASH_PREFIX + hashlib.sha256(message_id.encode()).hexdigest()[: 40 - len(HASH_PREFIX)]


def callback_signature(
    fields: Mapping[str, Any], names: list[str], secret: str, algorithm: str = "md5"
) -> str:
    """The hash SMSC puts in a callback: hash("<f1>:<f2>:...:<secret>")."""
    text = ":".join([*(str(fields.get(n, "")) for n in names), secret])
    return hashlib.new(algorithm, text.encode()).hexdigest()


class SmscChannel(HttpSmsChannel):
    def __init__(self, name: str, config: SmscConfig, client: httpx.AsyncClient) -> None:
        super().__init__(name, config.gateway(), client)
        self.smsc = config
        secret = config.callback_secret or config.password
        self._callback_secret = secret.get_secret_value() if secret else ""

    def client_id(self, message: OutboundMessage) -> str:
        return smsc_id(message.id)

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            return await super().send(message)
        except ProviderError as exc:
            if exc.provider_code != DUPLICATE:
                raise
            if message.resend:
                return SendResult(self.client_id(message))
            raise ProviderError(
                self.name,
                "error 9: too many requests at once",
                permanent=False,
                retry_after=60.0,
                provider_code=DUPLICATE,
            ) from None

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        if not self._callback_secret:
            raise CallbackRejected("no callback_secret or password configured for this channel")
        events = []
        for item in callback_items(headers, body):
            self._verify(item)
            event = _event(item)
            if event is not None:
                events.append(event)
        return events

    def _verify(self, item: Mapping[str, Any]) -> None:
        algorithm = self.smsc.callback_hash
        given = item.get(algorithm)
        if not isinstance(given, str) or not given:
            raise CallbackRejected(f"no {algorithm} field: add {algorithm}=1 to the handler URL")
        names = self.smsc.reply_hash_fields if _is_reply(item) else self.smsc.status_hash_fields
        expected = callback_signature(item, names, self._callback_secret, algorithm)
        if not hmac.compare_digest(expected, given.lower()):
            raise CallbackRejected(f"{algorithm} does not match the callback fields")


def _is_reply(item: Mapping[str, Any]) -> bool:
    return bool(item.get("mes"))


def _event(item: Mapping[str, Any]) -> CallbackEvent | None:
    at = _number(item.get("time"))
    phone = str(item["phone"]) if item.get("phone") not in (None, "") else None
    if _is_reply(item):
        sms_id = item.get("sms_id") or item.get("id")
        return CallbackEvent(
            "reply", None, str(sms_id) if sms_id else None, phone, str(item["mes"]), at
        )
    raw_id = item.get("id")
    status = _number(item.get("status"))
    if raw_id in (None, "") or status is None:
        raise CallbackRejected("a status callback needs id and status")
    provider_id = str(raw_id)
    ours = None if provider_id.startswith(HASH_PREFIX) else provider_id
    code = int(status)
    if code in DELIVERED:
        return CallbackEvent("delivered", ours, provider_id, phone, None, at)
    if code in READ:
        return CallbackEvent("read", ours, provider_id, phone, None, at)
    if code not in FAILED:
        return None  # -1 queued, 0 handed to the operator: nothing we track
    err = _number(item.get("err"))
    return CallbackEvent(
        "failed",
        ours,
        provider_id,
        phone,
        None,
        at,
        error=redact(f"status {code}" + (f", err {int(err)}" if err else "")),
        permanent=code in PERMANENT_STATUS or (err is not None and int(err) in PERMANENT_ERR),
    )


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
