"""Email over SMTP (aiosmtplib): plain UTF-8 text, one message per connection.

The Message-ID is derived from our message id, so the receiving side (and we, reading a
bounce) can tell a retry from a new message. SMTP has no idempotency: a retry after a
reply we never read can deliver twice; the window is one DATA command.

Replies map to ProviderError like this:

    250 after DATA                                  -> accepted; provider id = Message-ID
    5xx to RCPT (550 no such user, 553 bad address) -> permanent: that mailbox is wrong
    5xx to MAIL or DATA (554 rejected as spam...)   -> permanent for this message
    4xx anywhere (421, 450, 451, 452)               -> retry later
    535 authentication failed                       -> retry, loudly: the account is
                                                       wrong, not the customer; retries
                                                       end in dead letters, which revive
                                                       once the password is fixed
    connection refused, timeouts, TLS failures      -> retry

Email has no delivery webhook of its own; bounces come back as mail. `parse_callback`
takes a JSON bounce/reply report from the mail system's hook (a shared secret in
`X-Forecall-Token`): {"message_id": "<our id>", "status": "bounced"|"delivered"|"reply",
"permanent": true, "from": "...", "text": "..."}.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Literal

import aiosmtplib
import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import header, redact, same_secret
from core.errors import ProviderError

log = logging.getLogger("forecall.channels.email")
TOKEN_HEADER = "X-Forecall-Token"
_STATUS: dict[str, Literal["delivered", "read", "failed", "reply"]] = {
    "delivered": "delivered",
    "opened": "read",
    "bounced": "failed",
    "failed": "failed",
    "reply": "reply",
}


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["smtp"] = "smtp"
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"  # tls: implicit, port 465
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
    sender_name: str | None = Field(None, max_length=100)
    default_subject: str = Field("Сообщение от службы поддержки", max_length=200)
    list_unsubscribe: str | None = Field(None, description="mailto: or https: URL")
    message_id_domain: str = Field("forecall.local", pattern=r"^[A-Za-z0-9.-]{1,253}$")
    timeout: float = Field(15.0, gt=0, le=120)
    callback_secret: SecretStr | None = Field(None, min_length=16)


class EmailChannel:
    def __init__(self, name: str, config: EmailConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config  # `client` is unused: SMTP is not HTTP

    def message_id(self, message: OutboundMessage) -> str:
        local = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in message.id)
        return f"<{local}@{self.config.message_id_domain}>"

    def compose(self, message: OutboundMessage) -> EmailMessage:
        config = self.config
        mail = EmailMessage()
        mail["From"] = formataddr((config.sender_name or "", str(config.sender)))
        mail["To"] = message.address
        mail["Subject"] = message.subject or config.default_subject
        mail["Message-ID"] = self.message_id(message)
        mail["Date"] = formatdate(localtime=False)
        if config.list_unsubscribe:
            mail["List-Unsubscribe"] = f"<{config.list_unsubscribe}>"
        mail.set_content(message.text, charset="utf-8")
        return mail

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.text.strip():
            raise ProviderError(self.name, "empty text", permanent=True)
        config = self.config
        try:
            errors, _reply = await aiosmtplib.send(
                self.compose(message),
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password.get_secret_value() if config.password else None,
                use_tls=config.security == "tls",
                start_tls=True if config.security == "starttls" else False,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise self._refusal(
                message, exc.recipients[0].code, exc.recipients[0].message
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise self._refusal(message, exc.code, exc.message) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.info("smtp unreachable", extra={"message_id": message.id, "channel": self.name})
            raise ProviderError(
                self.name, f"unreachable ({type(exc).__name__})", permanent=False
            ) from None
        if errors:  # a single recipient refused without failing the whole send
            code, text = next(iter(errors.values()))
            raise self._refusal(message, code, text)
        return SendResult(self.message_id(message))

    def _refusal(self, message: OutboundMessage, code: int, text: str) -> ProviderError:
        permanent = 500 <= code < 600 and code != 535
        error = ProviderError(
            self.name,
            f"SMTP {code}: {redact(text)}",
            permanent=permanent,
            retry_after=None if permanent else (300.0 if code == 535 else None),
            provider_code=str(code),
        )
        level = logging.WARNING if code == 535 else logging.INFO
        log.log(
            level,
            "smtp refused",
            extra={"message_id": message.id, "channel": self.name, "code": code},
        )
        return error

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        secret = self.config.callback_secret
        if secret is None:
            raise CallbackRejected("no callback_secret configured for this channel")
        if not same_secret(header(headers, TOKEN_HEADER), secret.get_secret_value()):
            raise CallbackRejected(f"{TOKEN_HEADER} does not match")
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise CallbackRejected("callback body is not valid JSON") from None
        items = data if isinstance(data, list) else [data]
        events = []
        for item in items:
            if not isinstance(item, dict) or item.get("status") not in _STATUS:
                raise CallbackRejected("each report needs a status: " + ", ".join(_STATUS))
            kind = _STATUS[item["status"]]
            events.append(
                CallbackEvent(
                    kind,
                    str(item["message_id"]) if item.get("message_id") else None,
                    None,
                    str(item["from"]).strip().lower() if item.get("from") else None,
                    str(item["text"]) if kind == "reply" and item.get("text") else None,
                    None,
                    error=redact(str(item.get("error") or "bounced")) if kind == "failed" else None,
                    permanent=bool(item.get("permanent", False)),
                )
            )
        return events

    async def aclose(self) -> None:
        return None
