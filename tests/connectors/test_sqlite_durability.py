"""The embedded store survives a killed process: every acknowledged write is there."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

WRITER = """
import asyncio, sys
from connectors.store.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(sys.argv[1])
    i = 0
    while True:
        await store.update_profiles([f"c{i}"], lambda cid, blob: (b"x" * 300, 1))
        print(i, flush=True)  # acknowledged only after the commit returned
        i += 1

asyncio.run(main())
"""


def test_sigkill_mid_write_loses_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 30
    while acknowledged < 200 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert acknowledged >= 200

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT id FROM customers")}
    finally:
        db.close()
    missing = [i for i in range(acknowledged + 1) if f"c{i}" not in stored]
    assert missing == []
