"""Errors to JSON, in one place: `{"error": code, "message": ..., "field": ...}`.

Every error any route gives has this shape: ours (core/errors.py), request validation and
unparsable bodies (422, `field: "body"`), the framework's own 404/405, a body over the
limit (413, api/limits.py) and anything unexpected (500, logged without the request).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from api.metrics import STORE_ERRORS_TOTAL
from api.responses import OrjsonResponse
from core.errors import ForecallError, InvalidInput, StoreUnavailable

log = logging.getLogger("forecall.api")

# The code of a status the framework answers by itself (ours carry their own).
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
    502: "provider_error",
    503: "store_unavailable",
}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# FastAPI's words for a body it could not parse (nested too deeply, not UTF-8...).
_UNPARSABLE = "There was an error parsing the body"


def error_body(
    status: int, message: str, field: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": CODES.get(status, "error"), "message": message}
    if field is not None:
        body["field"], body["reason"] = field, reason or message
    return body


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


async def forecall_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, ForecallError)
    body: dict[str, object] = {"error": exc.code, "message": exc.message, **exc.details}
    if isinstance(exc, InvalidInput):
        body["field"], body["reason"] = exc.field, exc.reason
    if isinstance(exc, StoreUnavailable):
        STORE_ERRORS_TOTAL.labels(_route(request)).inc()
        log.warning("store unavailable", extra={"route": _route(request), "detail": exc.message})
    return OrjsonResponse(body, status_code=exc.status_code)


def _problem(error: Any) -> dict[str, str]:
    loc = list(error["loc"])
    if error["type"] == "json_invalid" and loc[:1] == ["body"]:
        # FastAPI puts the character position where the field goes: say it in words.
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        cause = (error.get("ctx") or {}).get("error")
        reason = f"not valid JSON{where}" + (f": {cause}" if cause else "")
        return {"field": "body", "reason": reason}
    parts = [str(part) for part in loc if part not in ("body", "query", "path")]
    return {"field": ".".join(parts) or "body", "reason": str(error["msg"])}


async def validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    first = problems[0] if problems else {"field": "body", "reason": "invalid"}
    return OrjsonResponse(
        {
            "error": "invalid_input",
            "message": f"{first['field']}: {first['reason']}",
            **first,
            "problems": problems,
        },
        status_code=422,
    )


async def http_error(request: Request, exc: Exception) -> OrjsonResponse:
    """The framework's own refusals (no route, wrong method, unparsable body) in our shape."""
    assert isinstance(exc, HTTPException)
    status, detail, headers = exc.status_code, str(exc.detail), exc.headers
    field = None
    if status == 400 and detail == _UNPARSABLE:
        status, field = 422, "body"
        detail = "cannot be parsed: not valid JSON, not UTF-8, or nested too deeply"
    elif status == 413:
        field = "body"
    elif status == 404 and _route(request) == "unmatched":
        detail = f"no route {request.url.path}; the API is described at /docs"
    elif status == 405:
        allowed = _allowed(request, (headers or {}).get("Allow", ""))
        headers = {**(headers or {}), "Allow": allowed}
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    elif detail == HTTPStatus(status).phrase:
        detail = detail.lower()
    message = f"body: {detail}" if field else detail
    return OrjsonResponse(
        error_body(status, message, field, detail if field else None),
        status_code=status,
        headers=headers,
    )


def _allowed(request: Request, fallback: str) -> str:
    """Every documented method at this path: the router names only its first route's."""
    paths = request.app.openapi().get("paths", {})
    matching = [p for p in paths if compile_path(p)[0].fullmatch(request.url.path)]
    # `/v1/approvals/decide` also fits `/v1/approvals/{approval_id}`: the literal path wins.
    fewest = min((p.count("{") for p in matching), default=0)
    methods = {
        m.upper()
        for p in matching
        if p.count("{") == fewest
        for m in paths[p]
        if m.upper() in _METHODS
    }
    return ", ".join(sorted(methods)) if methods else fallback


async def internal_error(request: Request, exc: Exception) -> OrjsonResponse:
    """Anything unexpected: logged with the route only (never the request), answered 500."""
    log.error("unhandled error", exc_info=exc, extra={"route": _route(request)})
    return OrjsonResponse(error_body(500, "an internal error; it is logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ForecallError, forecall_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
