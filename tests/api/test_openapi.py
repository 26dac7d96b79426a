"""The OpenAPI document tells the truth: schemathesis, through its Python API, runs every
operation of the document with every check against the app under uvicorn, on SQLite and
on Redis, with a fixed seed and a bounded number of examples, and finds nothing."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from bench.servers import BENCH_KEY

EXAMPLES = 4  # per operation and phase: the whole run stays well under two minutes a store
# Rules JSON Schema cannot say (a valid phone number, a reason the model knows, exactly one
# of several identities, an id that must exist in the queue): these operations answer a
# schema-valid request that breaks one with a 422 in the error shape, and nothing else.
SEMANTIC = [
    ("GET", "/v1/identify"),  # exactly one identity; a real phone number
    ("POST", "/v1/identify"),
    ("GET", "/v1/inbound/vxml"),  # the platform's own form fields, read by name
    ("POST", "/v1/inbound/vxml"),
    ("POST", "/v1/inbound/{call_id}/outcome"),  # a reason the model knows
    ("POST", "/v1/incidents"),  # a scope names at least one region, service, node or id
    ("PATCH", "/v1/incidents/{incident_id}"),
    ("POST", "/v1/approvals/decide"),  # ids in the queue, edits among them
    ("POST", "/v1/calls/{call_id}/route"),  # an operator or a queue
    ("PUT", "/v1/customers/{customer_id}"),  # phone numbers and e-mails that parse
    ("POST", "/v1/events"),  # event types of the catalogue and their fields
    ("POST", "/v1/scenarios/{name}/preview"),  # the trigger's fields
]


def config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20261202,
            "headers": {"Authorization": f"Bearer {BENCH_KEY}"},
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {"enabled": True},
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {"include-method": method, "include-path": path, "checks": _checks(method, path)}
                for method, path in SEMANTIC
            ],
        }
    )


def _checks(method: str, path: str) -> dict[str, Any]:
    checks: dict[str, Any] = {
        "positive_data_acceptance": {"expected-statuses": ["2XX", 401, 403, 404, 409, 422]}
    }
    if (method, path) == ("POST", "/v1/events"):
        # More events than a batch holds is refused as too large (413), as documented.
        checks["negative_data_rejection"] = {
            "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
        }
    return checks


def failures(url: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config())
    schema.config.update(base_url=url)
    found: list[str] = []
    scenarios = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            if event.status in (Status.FAILURE, Status.ERROR):
                found += _described(event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found.append(f"error: {event!r}")
        elif isinstance(event, events.EngineFinished):
            found += [f"{f.title}: {f.message}" for f in getattr(event, "failures", [])]
    return found, scenarios


def _described(event: events.ScenarioFinished) -> list[str]:
    found = []
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.failure_info is not None:
                failure = check.failure_info.failure
                curl = check.failure_info.code_sample
                found.append(f"{event.recorder.label}: {failure.title}: {failure.message}\n{curl}")
    if not found:
        found.append(f"{event.recorder.label}: {event.status}")
    return found


def test_schemathesis_finds_nothing(served: str) -> None:
    operations = _operations(httpx.get(f"{served}/openapi.json").json())
    found, scenarios = failures(served)
    assert found == [], "\n\n".join(found)
    assert scenarios >= len(operations)  # every operation ran


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m, p) for p, ops in document["paths"].items() for m in ops]
