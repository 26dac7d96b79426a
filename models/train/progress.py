"""Progress lines while training: a callable taking one message per step."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """The default when nobody is watching (the Python API)."""


def stderr_progress(stream: TextIO | None = None) -> Progress:
    """Timestamped lines on stderr (looked up per call, so captured streams work), so a
    long step is visibly alive and stdout stays for the report."""
    started = time.perf_counter()

    def say(message: str) -> None:
        print(
            f"[{time.perf_counter() - started:6.1f}s] {message}",
            file=stream or sys.stderr,
            flush=True,
        )

    return say
