"""The manager console: the page, its session, model cards with live accuracy, and a
same-origin window onto the API routes the console shows.

The window (`/console/api/v1/...`) replays the request inside this app with the
session's key, so the console sees exactly what the public API says, under exactly the
key's scopes (a manager key needs `incidents` too to watch incidents), and the page
never holds the key.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from api.deps import ChannelsDep, ClockDep, KeyRingDep, ModelsDep, SettingsDep, StoreDep
from api.responses import OrjsonResponse, json_response
from api.routes.desk import STATIC
from api.sessions import LoginIn, Session, Sessions, describe, require_csrf_header
from connectors.channels import sandbox
from core.errors import NotFound
from inbound import accuracy

router = APIRouter(tags=["console"])
SESSIONS = Sessions("forecall_console", "/console", "manager", operator=False)
ConsoleSession = Annotated[Session, Depends(SESSIONS.dependency())]
SANDBOX_SHOWN = 20
# What the console may reach through its window: what it shows, nothing else.
SHOWN = ("incidents", "approvals", "scenarios", "messages", "outbox")
PASSED_HEADERS = ("content-type", "retry-after")


@router.get("/console", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "console.html", headers={"Cache-Control": "no-cache"})


@router.post("/console/api/session", response_class=OrjsonResponse)
async def login(
    body: LoginIn, request: Request, keys: KeyRingDep, settings: SettingsDep
) -> Response:
    """Log in with a key holding the `manager` (or `admin`) scope."""
    return await SESSIONS.login(body, request, keys, settings.default_time_zone)


@router.get("/console/api/session", response_class=OrjsonResponse)
async def whoami(session: ConsoleSession, settings: SettingsDep) -> OrjsonResponse:
    """Who this page is logged in as."""
    return json_response(describe(session, settings.default_time_zone))


@router.delete("/console/api/session", status_code=204)
async def logout(request: Request) -> Response:
    """End the session (drop the cookie)."""
    return SESSIONS.logout(request)


@router.get("/console/api/models", response_class=OrjsonResponse)
async def models(
    registry: ModelsDep, store: StoreDep, settings: SettingsDep, clock: ClockDep, _: ConsoleSession
) -> OrjsonResponse:
    """Model cards in brief, and the reason model's accuracy on confirmed outcomes."""
    registry.maybe_reload()
    return json_response(
        {
            "cards": accuracy.cards(settings.model_dir, registry.status()),
            "problems": registry.problems,
            "live": accuracy.live(await store.examples(), clock.now()),
        }
    )


@router.get("/console/api/sandbox", response_class=OrjsonResponse)
async def sandbox_inbox(
    channels: ChannelsDep, store: StoreDep, _: ConsoleSession
) -> OrjsonResponse:
    """What the sandbox channel "sent", newest first; 404 when no channel is a sandbox."""
    if not any(isinstance(c, sandbox.SandboxChannel) for c in channels.values()):
        raise NotFound("no sandbox channel is configured")
    messages = await sandbox.recent(store, SANDBOX_SHOWN)
    records = await store.get_customers([m["customer_id"] for m in messages])
    for message, record in zip(messages, records, strict=True):
        message["customer_name"] = orjson.loads(record).get("name") if record else None
    return json_response(messages)


@router.api_route(
    "/console/api/v1/{path:path}", methods=["GET", "POST", "PATCH"], include_in_schema=False
)
async def window(path: str, request: Request, _: ConsoleSession) -> Response:
    if path.split("/", 1)[0] not in SHOWN:
        raise NotFound(f"the console does not show /v1/{path}")
    if request.method != "GET":
        require_csrf_header(request)
    headers = {"Authorization": f"Bearer {SESSIONS.secret(request)}"}
    if "content-type" in request.headers:
        headers["Content-Type"] = request.headers["content-type"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=request.app), base_url="http://console.internal"
    ) as client:
        answer = await client.request(
            request.method,
            f"/v1/{path}",
            params=str(request.query_params),
            content=await request.body(),
            headers=headers,
        )
    return Response(
        answer.content,
        status_code=answer.status_code,
        headers={k: v for k, v in answer.headers.items() if k in PASSED_HEADERS},
    )
