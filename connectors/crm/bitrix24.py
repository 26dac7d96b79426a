"""Bitrix24: results out through its REST API, events in through its outbound webhooks.

Out: an inbound webhook URL (`https://<portal>.bitrix24.ru/rest/<user>/<code>/`, scope
crm) calls `<method>.json`. Each proactive message and each inbound prediction becomes a
timeline comment on the customer's contact (`crm.timeline.comment.add`); what a manager
must act on becomes a to-do on it (`crm.activity.todo.add`). The comments go
through the outbox as messages on a channel of `kind: bitrix24` (durable, retried, rate
limited to Bitrix24's 2 requests a second), addressed to the contact id (the customer's
`bitrix24` identity).

REST answers map like this:

    {"result": ...}                                          -> done
    QUERY_LIMIT_EXCEEDED (HTTP 503), other 5xx, timeouts     -> retry
    expired_token, invalid_token, INVALID_CREDENTIALS, NO_AUTH_FOUND,
    insufficient_scope (401/403)                             -> permanent (fix the webhook)
    ERROR_NOT_FOUND, Not found, other 400                    -> permanent

In: outbound webhooks POST forms (`event=ONCRMDEALUPDATE&data[FIELDS][ID]=42&
auth[application_token]=...`), checked by the application token in constant time; the
entity is then read with `crm.contact.get` / `crm.deal.get`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import (
    http_timeout,
    json_object,
    redact,
    retry_after,
    same_secret,
    unreachable,
)
from connectors.crm.forms import parse_form
from core.errors import ProviderError

__all__ = ["Bitrix24", "Bitrix24Config", "contact_body", "parse_form"]
log = logging.getLogger("forecall.crm.bitrix24")
CONTACT_TYPE_ID = 3  # CRM entity type ids: 1 lead, 2 deal, 3 contact, 4 company
RETRY_ERRORS = frozenset({"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "OPERATION_TIME_LIMIT"})


class Bitrix24Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["bitrix24"] = "bitrix24"
    webhook_url: SecretStr = Field(description="the inbound webhook URL: it holds the secret")
    application_token: SecretStr = Field(description="the outbound webhook's token")
    # Deal stage -> our order status (docs/events.md); unlisted stages are ignored.
    deal_stages: dict[str, str] = Field(
        default_factory=lambda: {
            "PREPAYMENT_INVOICE": "paid",
            "EXECUTING": "shipped",
            "WON": "delivered",
            "LOSE": "cancelled",
        }
    )
    task_hours: float = Field(4.0, gt=0, le=720, description="a task's deadline, from now")
    timeout: float = Field(10.0, gt=0, le=120)

    def rest_base(self) -> str:
        url = self.webhook_url.get_secret_value().rstrip("/")
        AnyHttpUrl(url)  # refuse a malformed URL at start-up
        return url + "/"


class Bitrix24:
    """The REST client and the timeline-comment channel in one (one webhook URL)."""

    def __init__(self, name: str, config: Bitrix24Config, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._base = config.rest_base()
        self._timeout = http_timeout(config.timeout)

    async def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """One REST method; the `result`, or ProviderError classified as above."""
        try:
            reply = await self.client.post(
                f"{self._base}{method}.json",
                content=orjson.dumps(params),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except httpx.RequestError as exc:
            raise unreachable(self.name, exc) from exc
        data = json_object(reply.content)
        if reply.is_success and "result" in data and "error" not in data:
            return data["result"]
        code = str(data.get("error") or reply.status_code)
        transient = code in RETRY_ERRORS or reply.status_code >= 500 or reply.status_code == 429
        log.info("bitrix24 refused", extra={"method": method, "code": code})
        raise ProviderError(
            self.name,
            f"{method}: {code}: {redact(str(data.get('error_description', '')))}",
            permanent=not transient,
            retry_after=(retry_after(reply.headers.get("retry-after")) or 1.0)
            if transient
            else None,
            provider_code=code,
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        """A timeline comment on the contact `message.address`; a to-do when the metadata
        says `kind: crm_task` (due `due_at`)."""
        if message.metadata.get("kind") == "crm_task":
            due = datetime.fromtimestamp(float(message.metadata["due_at"]), UTC)
            todo = {
                "ownerTypeId": CONTACT_TYPE_ID,
                "ownerId": int(message.address),
                "deadline": due.isoformat(timespec="seconds"),
                "title": message.text.split(".")[0][:250],
                "description": message.text,
            }
            result = await self.call("crm.activity.todo.add", todo)
            return SendResult(str(result.get("id")) if isinstance(result, dict) else None)
        fields = {
            "ENTITY_ID": int(message.address),
            "ENTITY_TYPE": "contact",
            "COMMENT": message.text,
        }
        result = await self.call("crm.timeline.comment.add", {"fields": fields})
        return SendResult(str(result))

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        raise CallbackRejected("Bitrix24 events go to /v1/crm/bitrix24/events")

    def verify(self, form: Mapping[str, str]) -> bool:
        return same_secret(
            form.get("auth[application_token]"), self.config.application_token.get_secret_value()
        )

    async def aclose(self) -> None:
        return None


def contact_body(contact: Mapping[str, Any]) -> dict[str, Any]:
    """Our customer fields from a `crm.contact.get` result."""
    name = " ".join(str(contact.get(k) or "").strip() for k in ("NAME", "LAST_NAME")).strip()
    identities = [{"kind": "bitrix24", "value": str(contact["ID"])}]
    for phone in contact.get("PHONE") or []:
        if isinstance(phone, dict) and phone.get("VALUE"):
            identities.append({"kind": "phone", "value": str(phone["VALUE"])})
    for email in contact.get("EMAIL") or []:
        if isinstance(email, dict) and email.get("VALUE"):
            identities.append({"kind": "email", "value": str(email["VALUE"])})
    return {"name": name or None, "identities": identities}
