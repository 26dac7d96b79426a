"""A mock provider for the dispatch benchmark: accepts every POST at once and remembers,
per idempotency key, when it first arrived. Run in its own process, so that its work is
not charged to the dispatcher being measured.

    GET  /healthz   liveness for `bench.servers.uvicorn_server`
    POST /hook      a message; answers {"id": ...} like a provider
    POST /batch     {"messages": [...]}; answers {"results": [{"id": ...}, ...]}
    GET  /stats     {"requests": n, "distinct": n, "arrivals": [monotonic seconds, ...]}
    POST /reset     forget everything
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from bench.servers import read_body

_first_seen: dict[str, float] = {}
_requests = 0


async def _reply(send: Any, body: bytes, status: int = 200) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _requests
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    path = scope["path"]
    if path == "/hook":
        _requests += 1
        key = next((v.decode() for k, v in scope["headers"] if k == b"idempotency-key"), "")
        _first_seen.setdefault(key, time.monotonic())
        await _reply(send, b'{"id": "p-1"}')
    elif path == "/batch":
        _requests += 1
        now = time.monotonic()
        results = []
        for item in orjson.loads(body)["messages"]:
            _first_seen.setdefault(item["id"], now)
            results.append({"id": item["id"], "provider_message_id": "p-1"})
        await _reply(send, orjson.dumps({"results": results}))
    elif path == "/stats":
        arrivals = sorted(_first_seen.values())
        stats = {"requests": _requests, "distinct": len(_first_seen), "arrivals": arrivals}
        await _reply(send, orjson.dumps(stats))
    elif path == "/reset":
        _first_seen.clear()
        _requests = 0
        await _reply(send, b"{}")
    elif path == "/healthz":
        await _reply(send, b'{"status": "ok"}')
    else:
        await _reply(send, b"{}", 404)
