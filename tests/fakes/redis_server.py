"""A private redis-server process for tests that kill, stop or restart the store."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis


def wait_for(check: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    """Poll; the limit only catches a hang."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start_redis(port: int, data: Path) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:`port`, durable (AOF, fsync always) in `data`."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is needed for this test (apt-get install redis-server)")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--save", ""]
        + ["--appendonly", "yes", "--appendfsync", "always", "--logfile", str(data / "log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_for(answers, "redis-server to start", 10)
    finally:
        client.close()
    return process
