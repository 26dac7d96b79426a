"""A real HTTP server for a fake provider: an ASGI app under uvicorn in a thread."""

from __future__ import annotations

import threading
import time
from typing import Any, Self

import uvicorn

from bench.servers import free_port


class LocalServer:
    """Serves `self.app` on 127.0.0.1 while the `with` block runs."""

    def __init__(self) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="error",
            access_log=False,
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
