"""Liveness, readiness and Prometheus metrics: no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ChecksDep, ModelsDep, StoreDep
from api.metrics import STORE_UP
from api.responses import OrjsonResponse, json_response
from core.errors import StoreUnavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_class=OrjsonResponse)
async def healthz() -> OrjsonResponse:
    """The process is alive."""
    return json_response({"status": "ok"})


@router.get("/readyz", response_class=OrjsonResponse)
async def readyz(store: StoreDep, models: ModelsDep, checks: ChecksDep) -> OrjsonResponse:
    """Ready to serve: the store answers and the models are loaded.

    A model replaced by its fallback rules makes the service `degraded`, not unready:
    the rules still answer every call, and taking replicas out would answer none."""
    problems = dict(checks)
    try:
        await store.ping()
        STORE_UP.set(1)
    except StoreUnavailable as exc:
        STORE_UP.set(0)
        problems["store"] = exc.message
    models.maybe_reload()
    degraded = dict(models.problems)
    status = "not_ready" if problems else "degraded" if degraded else "ready"
    body = {
        "status": status,
        "problems": problems,
        "degraded": degraded,
        "models": models.status(),
    }
    return json_response(body, status_code=503 if problems else 200)


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
