"""The OpenAPI document, made to tell the truth in one place rather than route by route.

FastAPI documents what it can see: a 422 of its own shape, and a string for every route
that returns an `OrjsonResponse`. Here, once, after FastAPI has built the document:

- every error a route can give is described with the one error shape (api/errors.py),
  chosen by what the route uses: a key scope (401, 403), a desk or console session (401),
  the page's CSRF header (403), a path parameter (404), input (422), a body (413), the
  store (503), and the few conflicts and provider failures named in `_EXTRA`;
- a JSON answer is an object, or an array for the listings in `_ARRAYS`;
- the answers that are not JSON (metrics, CSV, VoiceXML, TwiML, event streams) carry
  their media type.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

ERROR_REF = "#/components/schemas/Error"
_AUTH_HEADERS = frozenset({"authorization", "x-api-key"})
_DESCRIPTIONS = {
    401: "No key, or a key that is unknown or revoked; no session",
    403: "The key lacks the scope this route needs, or the page's header is missing",
    404: "No such resource",
    409: "Conflicts with what is stored",
    413: "The body is larger than the route's limit; it was not read",
    422: "A field has a bad value, or the body cannot be parsed; `field` names it",
    500: "An unexpected failure; logged",
    502: "A provider (a CRM, a channel) refused or failed",
    503: "The store did not answer; nothing was written",
}
# Errors a route raises that its dependencies do not tell.
_EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/v1/identify"): (404,),
    ("POST", "/v1/identify"): (404,),
    ("POST", "/v1/incidents"): (409,),
    ("PATCH", "/v1/incidents/{incident_id}"): (409,),
    ("POST", "/v1/incidents/{incident_id}/resolve"): (409,),
    ("PUT", "/v1/customers/{customer_id}"): (409,),
    ("POST", "/v1/crm/bitrix24/events"): (401, 404, 502),
    ("POST", "/v1/crm/amocrm/events/{secret}"): (401, 502),
    ("GET", "/v1/crm/amocrm/oauth"): (401, 404, 502),
    ("POST", "/v1/inbound/twilio"): (401,),
    ("POST", "/v1/outbox/dead/{message_id}/revive"): (409,),
    ("POST", "/desk/api/session"): (401, 403),
    ("DELETE", "/desk/api/session"): (403,),
    ("POST", "/console/api/session"): (401, 403),
    ("DELETE", "/console/api/session"): (403,),
}
# Other successes an operation answers, with the schema of its first.
_ALSO: dict[tuple[str, str], tuple[int, ...]] = {
    ("PUT", "/v1/customers/{customer_id}"): (201,),  # created; 200 replaced
    ("POST", "/v1/incidents"): (201,),  # declared; 200 the same declaration again
    ("POST", "/v1/calls/{call_id}/route"): (202,),
}
# Operations whose JSON answer is a list.
_ARRAYS = frozenset(
    {
        ("GET", "/v1/incidents"),
        ("GET", "/v1/keys"),
        ("GET", "/v1/outbox/dead"),
        ("GET", "/v1/approvals"),
        ("GET", "/v1/approvals/audit"),
        ("GET", "/v1/scenarios/report"),
    }
)
# Answers that are not JSON.
_MEDIA = {
    ("GET", "/metrics"): "text/plain",
    ("GET", "/v1/inbound/examples.csv"): "text/csv",
    ("GET", "/v1/inbound/vxml"): "application/voicexml+xml",
    ("POST", "/v1/inbound/vxml"): "application/voicexml+xml",
    ("POST", "/v1/inbound/twilio"): "application/xml",
    ("GET", "/v1/channels/{name}/callback"): "text/plain",
    ("GET", "/desk/api/events"): "text/event-stream",
}


class Problem(BaseModel):
    field: str
    reason: str


class Error(BaseModel):
    """Every error, on every route."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="a stable code: not_found, invalid_input, forbidden...")
    message: str = Field(description="what went wrong, for a person")
    field: str | None = Field(None, description="the field to blame (`body` for the body)")
    reason: str | None = Field(None, description="why the field is wrong")
    problems: list[Problem] | None = Field(None, description="every invalid field, at a 422")


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            describe(document, app.routes)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    schemas["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in sorted(context.methods or ()):
            operation = document["paths"].get(context.path_format, {}).get(method.lower())
            if operation is not None:
                key = (method, str(context.path_format))
                _answers(operation, key)
                for status in sorted(_errors(route, operation, key)):
                    operation["responses"][str(status)] = {
                        "description": _DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                    }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _answers(operation: dict[str, Any], key: tuple[str, str]) -> None:
    responses = operation["responses"]
    first = next((r for s, r in responses.items() if s.startswith("2")), None)
    for status in _ALSO.get(key, ()):
        if first is not None:
            responses.setdefault(str(status), {**first, "description": "Accepted or created"})
    for status, response in operation["responses"].items():
        if not status.startswith("2") or status == "204":
            continue
        if key in _MEDIA:
            response["content"] = {_MEDIA[key]: {"schema": {"type": "string"}}}
            continue
        content = response.setdefault("content", {}).setdefault("application/json", {})
        if content.get("schema") in (None, {}, {"type": "string"}):
            content["schema"] = (
                {"type": "array", "items": {"type": "object"}}
                if key in _ARRAYS
                else {"type": "object"}
            )


def _calls(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        yield getattr(sub.call, "__name__", "")
        yield from _calls(sub)


def _errors(route: APIRoute, operation: dict[str, Any], key: tuple[str, str]) -> set[int]:
    method, path = key
    names = set(_calls(route.dependant))
    errors = {500, 503, *_EXTRA.get(key, ())}
    if any(n.startswith("require_") and n != "require_csrf_header" for n in names):
        errors |= {401, 403}
    if "session" in names:
        errors.add(401)
    if "require_csrf_header" in names:
        errors.add(403)
    if "{" in path:
        errors.add(404)
    params = [p for p in operation.get("parameters", []) if p["name"] not in _AUTH_HEADERS]
    if method in ("POST", "PUT", "PATCH"):
        errors |= {413, 422}
    elif params:
        errors.add(422)
    return errors
