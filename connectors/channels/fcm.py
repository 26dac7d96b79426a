"""Push through Firebase Cloud Messaging HTTP v1:
`POST {base_url}/v1/projects/{project_id}/messages:send`, OAuth 2.0 bearer token.

The token comes from the service account: a JWT (RS256, signed with the account's private
key) exchanged at its `token_uri` for an access token, kept until five minutes before it
expires and refreshed under a lock, so that a burst of sends asks once. A 401 refreshes
it once more and the send is tried again. Needs `pip install forecall[push]` (PyJWT with
cryptography).

The address is the device's registration token. FCM's `errorCode` maps like this:

    UNREGISTERED (404), INVALID_ARGUMENT (400), SENDER_ID_MISMATCH (403),
    THIRD_PARTY_AUTH_ERROR                               -> permanent
    QUOTA_EXCEEDED (429, Retry-After), UNAVAILABLE (503),
    INTERNAL (500), timeouts                             -> retry

FCM has no idempotency key: a resend after a lost answer is a second push. What it has is
display de-duplication, so each push carries our id (hashed when longer than APNs' 64
bytes) as Android's `notification.tag`, the web push `tag` and the `apns-collapse-id`
header: a second copy replaces the first on the device instead of showing twice.

FCM has no delivery webhook; the app may report receipts and opens itself to
`/v1/channels/<name>/callback` with `X-Forecall-Token: <callback_secret>` and
`{"message_id": "<our id>", "status": "delivered" | "opened"}` (the id travels in the
push's `data.message_id`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

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

log = logging.getLogger("forecall.channels.fcm")
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TOKEN_HEADER = "X-Forecall-Token"
PERMANENT = frozenset(
    {"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"}
)
EARLY = 300.0  # refresh the access token this long before it expires


def collapse_id(message_id: str) -> str:
    """Our id as a notification tag: as is up to APNs' 64 bytes, else a stable hash."""
    if len(message_id.encode()) <= 64:
        return message_id
    return "fc-" + hashlib.sha256(message_id.encode()).hexdigest()[:61]


class FcmConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["fcm"] = "fcm"
    project_id: str = Field(pattern=r"^[a-z0-9-]{4,40}$")
    service_account_file: Path | None = None
    service_account_json: SecretStr | None = None  # the file's content, from a secret store
    base_url: AnyHttpUrl = AnyHttpUrl("https://fcm.googleapis.com")
    title: str = Field("Служба поддержки", max_length=100)
    callback_secret: SecretStr | None = Field(None, min_length=16)
    timeout: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _account(self) -> FcmConfig:
        if (self.service_account_file is None) == (self.service_account_json is None):
            raise ValueError("give service_account_file or service_account_json (one of them)")
        return self

    def account(self) -> dict[str, Any]:
        raw = (
            self.service_account_file.read_bytes()
            if self.service_account_file is not None
            else self.service_account_json.get_secret_value().encode()  # type: ignore[union-attr]
        )
        data = orjson.loads(raw)
        missing = [k for k in ("client_email", "private_key", "token_uri") if not data.get(k)]
        if missing:
            raise ValueError(f"the service account lacks {', '.join(missing)}")
        return dict(data)


class FcmChannel:
    def __init__(self, name: str, config: FcmConfig, client: httpx.AsyncClient) -> None:
        try:
            import jwt  # noqa: F401 -- checked at start-up, used when a token is due
        except ImportError:
            raise ValueError("the fcm connector needs `pip install forecall[push]`") from None
        self.name = name
        self.config = config
        self.client = client
        self._account = config.account()
        base = str(config.base_url).rstrip("/")
        self._url = f"{base}/v1/projects/{config.project_id}/messages:send"
        self._timeout = http_timeout(config.timeout)
        self._token: tuple[str, float] | None = None  # (access token, when to refresh)
        self._lock = asyncio.Lock()

    async def access_token(self, stale: str | None = None) -> str:
        """A valid access token; `stale` is one the API refused (refresh unless another
        send already did)."""
        async with self._lock:
            now = time.time()
            if self._token and self._token[1] > now and self._token[0] != stale:
                return self._token[0]
            import jwt

            account = self._account
            assertion = jwt.encode(
                {
                    "iss": account["client_email"],
                    "scope": SCOPE,
                    "aud": account["token_uri"],
                    "iat": int(now),
                    "exp": int(now) + 3600,
                },
                account["private_key"],
                algorithm="RS256",
                headers={"kid": account.get("private_key_id", "")}
                if account.get("private_key_id")
                else None,
            )
            try:
                reply = await self.client.post(
                    account["token_uri"],
                    data={
                        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                        "assertion": assertion,
                    },
                    timeout=self._timeout,
                )
            except httpx.RequestError as exc:
                raise unreachable(self.name, exc) from exc
            data = json_object(reply.content)
            token = data.get("access_token")
            if not reply.is_success or not isinstance(token, str):
                # A refused service account is the deployment's fault: retried, loudly.
                log.warning(
                    "fcm token refused", extra={"channel": self.name, "status": reply.status_code}
                )
                raise ProviderError(
                    self.name,
                    f"token endpoint refused: HTTP {reply.status_code} "
                    + redact(str(data.get("error", ""))),
                    permanent=False,
                    retry_after=60.0,
                    provider_code="token",
                )
            expires = float(data.get("expires_in", 3600))
            self._token = (token, now + max(expires - EARLY, 60.0))
            return token

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.text.strip():
            raise ProviderError(self.name, "empty text", permanent=True)
        collapse = collapse_id(message.id)
        payload = {
            "message": {
                "token": message.address,
                "notification": {
                    "title": message.subject or self.config.title,
                    "body": message.text,
                },
                "data": {"message_id": message.id},
                "android": {"notification": {"tag": collapse}},
                "apns": {"headers": {"apns-collapse-id": collapse}},
                "webpush": {"notification": {"tag": collapse}},
            }
        }
        token = await self.access_token()
        for attempt in (1, 2):
            try:
                reply = await self.client.post(
                    self._url,
                    content=orjson.dumps(payload),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                    timeout=self._timeout,
                )
            except httpx.RequestError as exc:
                raise unreachable(self.name, exc) from exc
            if reply.status_code == 401 and attempt == 1:
                token = await self.access_token(stale=token)
                continue
            break
        data = json_object(reply.content)
        if reply.is_success and isinstance(data.get("name"), str):
            return SendResult(data["name"])
        error = self._refusal(reply, data)
        log.info(
            "fcm refused",
            extra={"message_id": message.id, "channel": self.name, "code": error.provider_code},
        )
        raise error

    def _refusal(self, reply: httpx.Response, data: dict[str, Any]) -> ProviderError:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        assert isinstance(error, dict)
        code = str(error.get("status") or reply.status_code)
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("errorCode"):
                code = str(detail["errorCode"])
        permanent = code in PERMANENT or (
            reply.status_code < 500
            and reply.status_code not in (408, 429)
            and code not in ("QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL")
        )
        return ProviderError(
            self.name,
            f"{code}: {redact(str(error.get('message', reply.reason_phrase)))}",
            permanent=permanent,
            retry_after=None if permanent else retry_after(reply.headers.get("retry-after")),
            provider_code=code,
        )

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> list[CallbackEvent]:
        secret = self.config.callback_secret
        if secret is None:
            raise CallbackRejected("no callback_secret configured for this channel")
        if not same_secret(header(headers, TOKEN_HEADER), secret.get_secret_value()):
            raise CallbackRejected(f"{TOKEN_HEADER} does not match")
        data = orjson.loads(body) if body.strip() else None
        items = data if isinstance(data, list) else [data]
        events = []
        for item in items:
            if not isinstance(item, dict) or item.get("status") not in ("delivered", "opened"):
                raise CallbackRejected("each receipt needs message_id and status delivered|opened")
            kind: Literal["delivered", "read"] = (
                "delivered" if item["status"] == "delivered" else "read"
            )
            events.append(CallbackEvent(kind, str(item.get("message_id")), None, None, None, None))
        return events

    async def aclose(self) -> None:
        return None
