"""What every connector does with a provider's refusal: classify it, keep PII out of it.

A refusal becomes `core.errors.ProviderError`:

    permanent=True    the same request will never succeed (invalid number, blocked bot,
                      no such mailbox): the dispatcher falls back to the next channel
    permanent=False   try again later, no sooner than `retry_after` when the provider
                      said so (429, Retry-After, 5xx, timeouts, connection refused)
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from core.errors import ProviderError

# Provider texts sometimes echo the address back ("550 <bob@example.com>: no such user").
_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")
_DIGITS = re.compile(r"\+?\d[\d\s()-]{5,}\d")


def redact(text: str, limit: int = 200) -> str:
    """A provider's error text, safe to store and log: no emails, no phone-like numbers."""
    cleaned = _DIGITS.sub("<number>", _EMAIL.sub("<email>", text))
    return " ".join(cleaned.split())[:limit]


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, moment - (time.time() if now is None else now))


def unreachable(provider: str, exc: Exception) -> ProviderError:
    """A request that never got an answer: always worth another try."""
    what = "timed out" if isinstance(exc, httpx.TimeoutException | TimeoutError) else "unreachable"
    return ProviderError(provider, f"{what} ({type(exc).__name__})", permanent=False)


def http_refusal(
    provider: str, reply: httpx.Response, detail: str = "", code: str | None = None
) -> ProviderError:
    """The usual HTTP reading: 408, 429 and 5xx are transient, any other 4xx is final."""
    status = reply.status_code
    transient = status in (408, 425, 429) or status >= 500
    text = f"HTTP {status}" + (f": {redact(detail)}" if detail else "")
    return ProviderError(
        provider,
        text,
        permanent=not transient,
        retry_after=retry_after(reply.headers.get("retry-after")) if transient else None,
        provider_code=code or str(status),
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from whatever mapping the web framework gave us."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response timing does not leak the secret."""
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def http_timeout(seconds: float) -> httpx.Timeout:
    # Connecting should be quick; a provider that takes long to accept a socket is down.
    return httpx.Timeout(seconds, connect=min(seconds, 3.0))


def json_object(raw: bytes) -> dict[str, Any]:
    """A provider's JSON answer as a dict; {} for anything else (an HTML error page)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
