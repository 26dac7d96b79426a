"""Structured JSON logs. Personal data is kept out by construction (we log ids, never
phones, emails or names); the scrubber below is the safety net for free text."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import orjson

_PHONE = re.compile(r"\+?\d[\d\s()-]{8,}\d")
_EMAIL = re.compile(r"[^\s@\"']+@[^\s@\"']+\.[A-Za-z]{2,}")
_STANDARD = set(vars(logging.makeLogRecord({})))


def scrub(text: str) -> str:
    return _EMAIL.sub("<email>", _PHONE.sub("<phone>", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints raw query strings (`/v1/identify?phone=...`): ours
    # logs the route template instead.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
