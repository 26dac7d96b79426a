"""Browser sessions for the desk and the console.

The page POSTs a scoped key once; from then on an HttpOnly, SameSite=Strict cookie,
limited to the page's path, carries the key and who the operator said they are. The
key is checked on every request (through the key ring's short cache), so revoking it
ends the session within seconds, in every worker, with no session table to share.
Page scripts never see the key. Changing requests must carry `X-Forecall: 1`, which a
cross-site form cannot send: with SameSite=Strict that closes the door on CSRF.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import KeyRing
from api.deps import KeyRingDep
from api.responses import json_response
from core.apikeys import ApiKey
from core.errors import Forbidden, InvalidInput, Unauthorized

NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
MAX_AGE = 12 * 3600  # a working day and then some
CSRF_HEADER = "x-forecall"


@dataclass(frozen=True, slots=True)
class Session:
    key: ApiKey
    operator_id: str | None
    queues: tuple[str, ...]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=256, description="an API key with the scope")
    operator_id: str | None = Field(None, pattern=NAME, description="desk: who is taking calls")
    queues: list[Annotated[str, Field(pattern=NAME)]] = Field(default_factory=list, max_length=10)


def _encode(secret: str, operator_id: str | None, queues: list[str]) -> str:
    raw = orjson.dumps({"k": secret, "o": operator_id, "q": queues})
    return base64.urlsafe_b64encode(raw).decode()


def _decode(value: str) -> tuple[str, str | None, tuple[str, ...]] | None:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(value.encode()))
        return str(data["k"]), data["o"], tuple(str(q) for q in data["q"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None


def require_csrf_header(request: Request) -> None:
    if request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("changing requests from the page must send the header X-Forecall: 1")


class Sessions:
    """One page's sessions: its cookie, the path it is sent to, and the scope it needs."""

    def __init__(self, cookie: str, path: str, scope: str, *, operator: bool) -> None:
        self.cookie = cookie
        self.path = path
        self.scope = scope
        self.operator = operator  # the desk needs an operator id or queue; the console not

    async def login(
        self, body: LoginIn, request: Request, keys: KeyRing, time_zone: str | None = None
    ) -> Response:
        require_csrf_header(request)
        if self.operator and not body.operator_id and not body.queues:
            raise InvalidInput("operator_id", "give an operator id, a queue, or both")
        key = await keys.authorize(body.key, self.scope)
        session = Session(key, body.operator_id, tuple(body.queues))
        response = json_response(describe(session, time_zone))
        response.set_cookie(
            self.cookie,
            _encode(body.key, body.operator_id, body.queues),
            max_age=MAX_AGE,
            path=self.path,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    def logout(self, request: Request) -> Response:
        require_csrf_header(request)
        response = Response(status_code=204)
        response.delete_cookie(self.cookie, path=self.path, httponly=True, samesite="strict")
        return response

    async def current(self, request: Request, keys: KeyRing) -> Session:
        value = request.cookies.get(self.cookie)
        decoded = _decode(value) if value else None
        if decoded is None:
            raise Unauthorized("log in first: POST a key to " + self.path + "/api/session")
        secret, operator_id, queues = decoded
        key = await keys.authorize(secret, self.scope)
        return Session(key, operator_id, queues)

    def dependency(self) -> Callable[..., Awaitable[Session]]:
        async def session(request: Request, keys: KeyRingDep) -> Session:
            return await self.current(request, keys)

        return session

    def secret(self, request: Request) -> str:
        """The key behind the session, to call the API on the operator's behalf."""
        decoded = _decode(request.cookies.get(self.cookie, ""))
        if decoded is None:
            raise Unauthorized("log in first")
        return decoded[0]


def describe(session: Session, time_zone: str | None = None) -> dict[str, object]:
    """Who the page is logged in as (never the key), and the zone its times default to."""
    return {
        "operator_id": session.operator_id,
        "queues": list(session.queues),
        "key_id": session.key.id,
        "key_name": session.key.name,
        "scopes": sorted(session.key.scopes),
        "time_zone": time_zone,
    }
