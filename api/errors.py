"""Errors to JSON, in one place: `{"error": code, "message": ..., "field": ...}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from api.metrics import STORE_ERRORS_TOTAL
from api.responses import OrjsonResponse
from core.errors import ForecallError, InvalidInput, StoreUnavailable

log = logging.getLogger("forecall.api")


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


async def validation_error(request: Request, exc: Exception) -> OrjsonResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if part not in ("body", "query", "path")]
        problems.append({"field": ".".join(loc) or "body", "reason": error["msg"]})
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


def install(app: FastAPI) -> None:
    app.add_exception_handler(ForecallError, forecall_error)
    app.add_exception_handler(RequestValidationError, validation_error)
