"""A local webhook receiver that behaves like a provider: a real HTTP server on 127.0.0.1.

It checks our signature, counts every request and every distinct idempotency key (so a
test can assert "exactly once at the provider"), dedupes like a careful provider, and
fails on demand: `fail_next(n, status, retry_after)`. POSTs to a path ending in
`/batch` are the webhook's bulk form: each message is counted by its `id`, and
`refuse(id, error, permanent)` makes the receiver refuse that one message in its results.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import orjson

from bench.servers import read_body
from connectors.channels.webhook import verify_signature
from tests.fakes.server import LocalServer

SECRET = "receiver-secret-0123456789"


class Receiver(LocalServer):
    def __init__(self, secret: str = SECRET, delay: float = 0.0) -> None:
        self.secret = secret
        self.delay = delay
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests = 0
        self.by_key: Counter[str] = Counter()
        self.bodies: dict[str, dict[str, Any]] = {}
        self.times: list[float] = []
        self.bad_signatures = 0
        self._failures: list[tuple[int, float | None]] = []
        self._refusals: dict[str, tuple[str, bool]] = {}
        self.batch_url = f"http://127.0.0.1:{self.port}/batch"
        self._lock = threading.Lock()

    def fail_next(self, n: int, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures += [(status, retry_after)] * n

    def refuse(self, message_id: str, error: str, permanent: bool) -> None:
        with self._lock:
            self._refusals[message_id] = (error, permanent)

    @property
    def delivered(self) -> int:
        return len(self.by_key)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if self.delay:
            await asyncio.sleep(self.delay)
        status, extra, reply = 200, [], b"{}"
        with self._lock:
            self.requests += 1
            failure = self._failures.pop(0) if self._failures else None
            try:
                verify_signature(
                    self.secret, headers.get("x-forecall-signature"), body, time.time()
                )
            except Exception:
                self.bad_signatures += 1
                failure = (401, None)
            if failure is not None:
                status = failure[0]
                if failure[1] is not None:
                    extra = [(b"retry-after", str(failure[1]).encode())]
            elif scope["path"].endswith("/batch"):
                reply = orjson.dumps({"results": self._accept_batch(orjson.loads(body))})
            else:
                key = headers.get("idempotency-key", "")
                self.by_key[key] += 1
                self.bodies.setdefault(key, orjson.loads(body))
                self.times.append(time.monotonic())
                reply = orjson.dumps({"id": f"p-{key}"})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    def _accept_batch(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for item in data["messages"]:
            key = str(item["id"])
            refusal = self._refusals.pop(key, None)
            if refusal is not None:
                results.append({"id": key, "error": refusal[0], "permanent": refusal[1]})
                continue
            self.by_key[key] += 1
            self.bodies.setdefault(key, item)
            self.times.append(time.monotonic())
            results.append({"id": key, "provider_message_id": f"p-{key}"})
        return results
