"""Start a real server process for a benchmark, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "fc_bench_admin_key"


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole request body of a raw ASGI request (the mock providers' fast path)."""
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(app: str, env: dict[str, str], *, factory: bool = True) -> Iterator[str]:
    """Run `app` under one uvicorn worker; yield its base URL once /healthz answers."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    if factory:
        command.append("--factory")
    with _running(command, port, env) as url:
        yield url


@contextmanager
def forecall_server(env: dict[str, str], *, workers: int = 1) -> Iterator[str]:
    """Run `forecall serve --workers N` as a deployment would; yield its base URL."""
    port = free_port()
    forecall = str(Path(sys.executable).with_name("forecall"))
    command = [forecall, "serve", "--port", str(port), "--workers", str(workers)]
    with _running(command, port, env) as url:
        yield url


@contextmanager
def _running(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    full_env = {
        **os.environ,
        "FORECALL_ADMIN_KEY": BENCH_KEY,
        "FORECALL_LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(command, cwd=ROOT, env=full_env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
