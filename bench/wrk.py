"""Drive a server with wrk (an independent C load generator) and read its figures back.

The bodies go into a Lua script: wrk sends them round-robin, each with a fresh call id,
and its `done()` hook prints one JSON line with the counts and latency percentiles.
wrk's own CPU time is measured too, so a run can show that the client was not the limit.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

WRK = shutil.which("wrk") or "/usr/bin/wrk"
MARK = "@CALL@"  # where each body takes its call id

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    client_cpu: float  # wrk's CPU seconds per wall second (1.0 = one whole core)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def lua(bodies: list[bytes], path: str, headers: dict[str, str]) -> str:
    """A wrk script posting `bodies` to `path`; each body holds MARK once for its call id."""
    parts = []
    for body in bodies:
        text = body.decode()
        head, _, tail = text.partition(MARK)
        parts.append(f"{{{_quote(head)}, {_quote(tail)}}}")
    header_items = ", ".join(f"[ {_quote(k)} ] = {_quote(v)}" for k, v in headers.items())
    return "\n".join(
        [
            "local bodies = {" + ",\n".join(parts) + "}",
            f"local headers = {{{header_items}}}",
            "local n, k, tag = #bodies, 0, 'x'",
            "tid = 0  -- a global: setup() sets it in each thread's own Lua state",
            "local threads = 0",
            "setup = function(thread) thread:set('tid', threads); threads = threads + 1 end",
            "init = function(args) tag = args[1] or 'x' end",
            "request = function()",
            "  k = k + 1",
            "  local b = bodies[(k % n) + 1]",
            "  local body = b[1] .. tag .. '-' .. tid .. '-' .. k .. b[2]",
            f"  return wrk.format('POST', {_quote(path)}, headers, body)",
            "end",
            _DONE,
        ]
    )


def _quote(text: str) -> str:
    # Lua long strings need no escaping; the level is chosen not to occur in the text.
    level = "=" * next(n for n in range(1, 10) if f"]{'=' * n}]" not in text)
    return f"[{level}[{text}]{level}]"


class Wrk:
    """One script, many runs: `run(url, connections, seconds)`."""

    def __init__(self, bodies: list[bytes], path: str, headers: dict[str, str]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="forecall-wrk-")
        self.script = Path(self._dir.name) / "calls.lua"
        self.script.write_text(lua(bodies, path, headers))
        self.runs = 0

    def run(self, url: str, connections: int, seconds: int, threads: int = 1) -> Run:
        self.runs += 1
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        out = subprocess.run(
            [
                WRK,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                str(self.script),
                url,
                "--",
                f"r{self.runs}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        figures = orjson.loads(out.strip().splitlines()[-1])
        return Run(
            requests=figures["requests"],
            seconds=figures["duration_us"] / 1e6,
            errors=figures["status_errors"] + figures["socket_errors"],
            p50_ms=figures["p50_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            max_ms=figures["max_us"] / 1000,
            client_cpu=cpu / wall,
        )

    def close(self) -> None:
        self._dir.cleanup()
