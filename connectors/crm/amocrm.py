"""amoCRM: notes and tasks out through API v4, contacts and leads in through webhooks.

Out, through the outbox as messages on a channel of `kind: amocrm`, addressed to the
contact id (the customer's `amocrm` identity):

    a note  -> POST /api/v4/contacts/{id}/notes  [{"note_type": "common", "params": {...}}]
    a task  -> POST /api/v4/tasks                [{"entity_type": "contacts", ...}]
               (messages whose metadata says `kind: crm_task`, with `due_at`)

Access is OAuth 2.0 (`/oauth2/access_token`), its tokens kept by `oauth.TokenVault`
(rotated, sealed, refreshed before expiry), or a long-lived token of a private
integration. Answers map like this:

    2xx                                        -> done
    401                                        -> the token is refreshed and the call
                                                  tried once more; then permanent
    429, 5xx, timeouts                         -> retry (amoCRM allows 7 requests a second)
    400 (validation-errors), 402 (unpaid),
    403 (blocked), 404, 204 on a read          -> permanent

In: the account's webhooks POST forms (`leads[status][0][id]=…&account[subdomain]=…`) to
`/v1/crm/amocrm/events/<webhook_secret>`; amoCRM does not sign them, so the secret is in
the URL and the account's subdomain must match. Entities are then read with GET.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.channels.base import CallbackEvent, CallbackRejected, OutboundMessage, SendResult
from connectors.channels.errors import (
    http_timeout,
    json_object,
    redact,
    retry_after,
    same_secret,
    unreachable,
)
from connectors.crm.oauth import Grant, Tokens, TokenVault
from connectors.store import Store
from core.clock import Clock, SystemClock
from core.errors import ProviderError

log = logging.getLogger("forecall.crm.amocrm")
HOOK_KEY = re.compile(r"^(contacts|leads)\[(add|update|status|delete)\]\[(\d{1,4})\]\[id\]$")


class AmoCrmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["amocrm"] = "amocrm"
    base_url: AnyHttpUrl = Field(description="the account, e.g. https://shop.amocrm.ru")
    # The account's name as webhooks give it (account[subdomain]); base_url's first label
    # unless the API is reached through another host (a proxy, kommo.com...).
    subdomain: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    # An external integration (OAuth, tokens rotate) ...
    client_id: str | None = Field(None, min_length=8, max_length=64)
    client_secret: SecretStr | None = None
    redirect_uri: AnyHttpUrl | None = None
    authorization_code: SecretStr | None = None  # from the integration's settings, 20 min
    refresh_token: SecretStr | None = None  # or a refresh token obtained elsewhere
    # ... or a private integration's long-lived token.
    long_lived_token: SecretStr | None = None
    webhook_secret: SecretStr = Field(min_length=24, description="the last part of the URL")
    # Lead status id -> our order status; 142 and 143 are amoCRM's won and lost.
    lead_statuses: dict[str, str] = Field(
        default_factory=lambda: {"142": "delivered", "143": "cancelled"}
    )
    task_type_id: int = Field(1, ge=1, description="1 is amoCRM's 'call' task type")
    task_hours: float = Field(4.0, gt=0, le=720, description="a task's deadline, from now")
    refresh_early: float = Field(3600.0, ge=60, le=43200)
    timeout: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _auth(self) -> AmoCrmConfig:
        oauth = (self.client_id, self.client_secret, self.redirect_uri)
        if self.long_lived_token is not None:
            if any(v is not None for v in (*oauth, self.authorization_code, self.refresh_token)):
                raise ValueError("give long_lived_token or the OAuth settings, not both")
            return self
        names = ("client_id", "client_secret", "redirect_uri")
        missing = [n for n, v in zip(names, oauth, strict=True) if v is None]
        if missing:
            raise ValueError(
                f"missing {', '.join(missing)} (or give long_lived_token for a private integration)"
            )
        if self.authorization_code is not None and self.refresh_token is not None:
            raise ValueError("give authorization_code or refresh_token, not both")
        return self

    def account(self) -> str:
        return self.subdomain or (urlsplit(str(self.base_url)).hostname or "").split(".")[0]

    def seed(self) -> Grant | None:
        if self.authorization_code is not None:
            return Grant("authorization_code", self.authorization_code.get_secret_value())
        if self.refresh_token is not None:
            return Grant("refresh_token", self.refresh_token.get_secret_value())
        return None


class AmoCrm:
    """The API v4 client and the notes-and-tasks channel in one."""

    def __init__(self, name: str, config: AmoCrmConfig, client: httpx.AsyncClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._base = str(config.base_url).rstrip("/")
        self._timeout = http_timeout(config.timeout)
        self.vault: TokenVault | None = None
        self.clock: Clock = SystemClock()

    def bind(self, store: Store, clock: Clock) -> None:
        """The token vault needs the shared store (every worker uses the same pair)."""
        self.clock = clock
        if self.config.long_lived_token is None:
            self.vault = TokenVault(
                self.name,
                store,
                clock,
                self.config.client_secret.get_secret_value(),  # type: ignore[union-attr]
                self.exchange,
                self.config.seed(),
                self.config.refresh_early,
            )

    async def keep_alive(self) -> None:
        """Refresh ahead of expiry even when nothing is sent: an unused refresh token
        dies after three months."""
        if self.vault is not None:
            await self.vault.access_token()

    async def exchange(self, grant: Grant) -> Tokens:
        """POST /oauth2/access_token; the new access and refresh tokens."""
        secret = self.config.client_secret
        body = {
            "client_id": self.config.client_id,
            "client_secret": secret.get_secret_value() if secret is not None else "",
            "grant_type": grant.type,
            "redirect_uri": str(self.config.redirect_uri),
            ("code" if grant.type == "authorization_code" else "refresh_token"): grant.value,
        }
        try:
            reply = await self.client.post(
                f"{self._base}/oauth2/access_token", json=body, timeout=self._timeout
            )
        except httpx.RequestError as exc:
            raise unreachable(self.name, exc) from exc
        data = json_object(reply.content)
        if reply.is_success and data.get("access_token") and data.get("refresh_token"):
            expires_in = float(data.get("expires_in") or 86400)
            return Tokens(
                str(data["access_token"]),
                str(data["refresh_token"]),
                self.clock.now() + expires_in,
            )
        transient = reply.status_code >= 500 or reply.status_code == 429
        hint = redact(str(data.get("hint") or data.get("detail") or data.get("title") or ""))
        log.warning("amocrm token refused", extra={"status": reply.status_code})
        raise ProviderError(
            self.name,
            f"oauth2/access_token ({grant.type}): {reply.status_code} {hint}".rstrip()
            + ("" if transient else "; authorize the integration again"),
            permanent=False,  # notes wait for the new authorization instead of being lost
            retry_after=(retry_after(reply.headers.get("retry-after")) or 5.0)
            if transient
            else 600.0,
            provider_code=str(reply.status_code),
        )

    async def call(
        self, method: str, path: str, body: Any = None, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """One API v4 call with a bearer token; the JSON answer ({} for 204 on writes)."""
        token = await self._token()
        reply = await self._request(method, path, body, params, token)
        if reply.status_code == 401 and self.vault is not None:
            reply = await self._request(
                method, path, body, params, await self.vault.access_token(stale=token)
            )
        if reply.is_success and not (method == "GET" and reply.status_code == 204):
            return json_object(reply.content) if reply.content else {}
        raise self._refusal(method, path, reply)

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await self.call("GET", path, params=params)

    async def send(self, message: OutboundMessage) -> SendResult:
        contact = int(message.address)
        if message.metadata.get("kind") == "crm_task":
            due = int(float(message.metadata.get("due_at") or self.clock.now() + 3600))
            task = {
                "task_type_id": self.config.task_type_id,
                "text": message.text,
                "complete_till": due,
                "entity_id": contact,
                "entity_type": "contacts",
                "request_id": message.id,
            }
            data = await self.call("POST", "/api/v4/tasks", [task])
            return SendResult(_created_id(data, "tasks"))
        note = {"note_type": "common", "params": {"text": message.text}}
        data = await self.call("POST", f"/api/v4/contacts/{contact}/notes", [note])
        return SendResult(_created_id(data, "notes"))

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        raise CallbackRejected("amoCRM webhooks go to /v1/crm/amocrm/events/<webhook_secret>")

    def verify(self, secret: str, form: Mapping[str, str]) -> bool:
        """The URL's secret, and the account the webhook names (when it names one)."""
        if not same_secret(secret, self.config.webhook_secret.get_secret_value()):
            return False
        subdomain = form.get("account[subdomain]")
        return subdomain is None or subdomain.lower() == self.config.account()

    async def aclose(self) -> None:
        return None

    async def _token(self) -> str:
        if self.config.long_lived_token is not None:
            return self.config.long_lived_token.get_secret_value()
        if self.vault is None:
            raise ProviderError(
                self.name, "the token vault is not bound to a store", permanent=True
            )
        return await self.vault.access_token()

    async def _request(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, str] | None,
        token: str,
    ) -> httpx.Response:
        try:
            return await self.client.request(
                method,
                f"{self._base}{path}",
                content=orjson.dumps(body) if body is not None else None,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except httpx.RequestError as exc:
            raise unreachable(self.name, exc) from exc

    def _refusal(self, method: str, path: str, reply: httpx.Response) -> ProviderError:
        status = reply.status_code
        data = json_object(reply.content) if reply.content else {}
        detail = str(data.get("detail") or data.get("title") or "")
        problems = data.get("validation-errors")
        if isinstance(problems, list) and problems:
            first = problems[0].get("errors", [{}]) if isinstance(problems[0], dict) else [{}]
            if first and isinstance(first[0], dict):
                detail += f" ({first[0].get('path', '')}: {first[0].get('detail', '')})"
        if status == 204:
            detail = "not found"
        transient = status == 429 or status >= 500
        log.info("amocrm refused", extra={"path": path.split("?")[0], "code": status})
        return ProviderError(
            self.name,
            f"{method} {_shape(path)}: {status} {redact(detail)}".rstrip(),
            permanent=not transient,
            retry_after=(retry_after(reply.headers.get("retry-after")) or 1.0)
            if transient
            else None,
            provider_code=str(status),
        )


def _shape(path: str) -> str:
    """The path without ids, for error messages that group well."""
    return re.sub(r"/\d+", "/{id}", path)


def _created_id(data: Mapping[str, Any], what: str) -> str | None:
    embedded = data.get("_embedded")
    items = embedded.get(what) if isinstance(embedded, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return str(items[0].get("id"))
    return None


def hooked(form: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(entity, action, id) for each entity a webhook form names, in order:
    `leads[status][0][id]=7` -> ("leads", "status", "7")."""
    found = []
    for key, value in form.items():
        match = HOOK_KEY.match(key)
        if match and value.isdigit():
            found.append((match[1], match[2], value))
    return found


def contact_body(contact: Mapping[str, Any]) -> dict[str, Any]:
    """Our customer fields from GET /api/v4/contacts/{id}."""
    name = (
        str(contact.get("name") or "").strip()
        or " ".join(str(contact.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    )
    identities = [{"kind": "amocrm", "value": str(contact["id"])}]
    for field in contact.get("custom_fields_values") or []:
        code = field.get("field_code") if isinstance(field, dict) else None
        if code not in ("PHONE", "EMAIL"):
            continue
        for value in field.get("values") or []:
            if isinstance(value, dict) and value.get("value"):
                identities.append({"kind": code.lower(), "value": str(value["value"])})
    return {"name": name or None, "identities": identities}


def main_contact(lead: Mapping[str, Any]) -> str | None:
    """The lead's main contact id from GET /api/v4/leads/{id}?with=contacts."""
    embedded = lead.get("_embedded")
    contacts = embedded.get("contacts") if isinstance(embedded, dict) else None
    if not isinstance(contacts, list) or not contacts:
        return None
    main = next((c for c in contacts if isinstance(c, dict) and c.get("is_main")), contacts[0])
    return str(main["id"]) if isinstance(main, dict) and "id" in main else None
