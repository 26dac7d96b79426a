"""Warm the app at start-up, so that the first IVR call costs what the others do.

FastAPI builds a router's routes (their dependencies, their body models) on the first
request that reaches them; the use case loads models and zone data on its first
decision. One request without a key through the app itself, from the lifespan, builds
the routes (it is refused before it decides anything); `Calls.warm` does the rest.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message

PATHS = ("/v1/inbound", "/v1/inbound/vxml")
BODY = b'{"channel":"ivr","call_id":"warm-up"}'


async def warm_routes(app: ASGIApp, paths: tuple[str, ...] = PATHS) -> None:
    for path in paths:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}

        async def send(message: Message) -> None:
            return None

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"warm-up")],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": {},
        }
        await app(scope, receive, send)
