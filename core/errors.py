"""Forecall's errors: a small named hierarchy, each carrying its HTTP status.

    ForecallError (500)
    ├── InvalidInput (422)      -- a field has a bad value; names the field and the reason
    │   └── PayloadTooLarge (413)
    ├── NotFound (404)
    ├── Conflict (409)          -- e.g. an identity already belongs to another customer
    ├── Unauthorized (401)
    ├── Forbidden (403)         -- the key lacks the scope the route needs
    ├── StoreUnavailable (503)  -- the store did not answer; nothing was written
    └── ProviderError (502)     -- a channel or CRM refused; `permanent` says whether to retry

Business code raises these; `api/errors.py` turns them into JSON in one place.
Connectors translate library errors (redis, sqlite3, httpx) at their edge.
"""

from __future__ import annotations

from typing import Any


class ForecallError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(ForecallError):
    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, reason: str, **details: Any) -> None:
        super().__init__(f"{field}: {reason}", **details)
        self.field = field
        self.reason = reason


class PayloadTooLarge(InvalidInput):
    status_code = 413
    code = "payload_too_large"


class NotFound(ForecallError):
    status_code = 404
    code = "not_found"


class Conflict(ForecallError):
    status_code = 409
    code = "conflict"


class Unauthorized(ForecallError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ForecallError):
    status_code = 403
    code = "forbidden"


class StoreUnavailable(ForecallError):
    status_code = 503
    code = "store_unavailable"


class ProviderError(ForecallError):
    """A provider (SMS gateway, Telegram, CRM) refused or failed.

    `permanent` errors (an invalid number, a blocked bot) are not retried; the others
    are, no sooner than `retry_after` seconds when the provider said so (429, Retry-After).
    """

    status_code = 502
    code = "provider_error"

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}", provider=provider)
        self.provider = provider
        self.permanent = permanent
        self.retry_after = retry_after
        self.provider_code = provider_code
