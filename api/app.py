"""The application factory: `create_app(settings)` builds a service with its own resources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from time import monotonic, perf_counter

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import demo, errors, openapi
from api.auth import KeyRing
from api.deps import ARRIVED
from api.limits import BodyLimit
from api.metrics import REQUEST_SECONDS
from api.routes import (
    amocrm,
    approvals,
    console,
    crm,
    customers,
    desk,
    events,
    health,
    inbound,
    incidents,
    keys,
    scenarios,
    voice,
)
from api.routes import channels as channel_routes
from api.state import AppState
from api.warmup import warm_routes
from connectors.outbox import open_outbox
from connectors.store import Store, open_store
from core.apikeys import ApiKey, hash_key
from core.clock import Clock, SystemClock
from core.events import Catalogue
from core.settings import SCOPES, Settings
from inbound.calls import Calls
from inbound.live import open_hub
from predictors.actions import BUILTIN as BUILTIN_ACTIONS
from predictors.actions import load_catalogue
from predictors.registry import ModelRegistry
from proactive.approvals import Approvals
from proactive.crm_sync import CrmSync
from proactive.followups import Followups
from proactive.incident_cache import OpenIncidents
from proactive.incidents import Incidents
from proactive.receipts import Receipts
from proactive.replies import Replies
from proactive.runtime import (
    KEEP_ALIVE_SECONDS,
    crm_notes,
    http_client,
    keep_alive,
    load_followups,
    make_dispatcher,
    open_channels,
)

log = logging.getLogger("forecall.api")


class RequestMetrics:
    """Latency per route template and one access-log line without query strings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        scope[ARRIVED] = monotonic()  # the IVR's budget counts from here (api/deps.py)
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = perf_counter() - started
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            if route not in ("/metrics", "/healthz"):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )


def create_app(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None
) -> FastAPI:
    clock = clock or SystemClock()
    settings = demo.demo_settings(settings)
    catalogue = Catalogue.with_extensions(
        config.spec(name) for name, config in settings.event_types.items()
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store or open_store(settings.store)
        bootstrap = None
        if settings.admin_key is not None:
            bootstrap = ApiKey(
                id="bootstrap",
                name="bootstrap admin",
                scopes=frozenset(SCOPES),
                key_hash=hash_key(settings.admin_key.get_secret_value()),
                created_at=0.0,
            )
        recent = None
        if settings.demo:
            from models.demo import load_demo

            recent = await load_demo(
                opened, catalogue, settings.demo_customers, settings.default_region, clock.now()
            )
        outbox = open_outbox(settings.store)
        client = http_client()
        channels = open_channels(settings, client, opened, clock)
        followups = Followups(opened, outbox, load_followups(settings), catalogue, set(channels))
        models = ModelRegistry(settings.model_dir)
        actions = load_catalogue(settings.scenario_file or BUILTIN_ACTIONS)
        open_incidents = OpenIncidents(opened)
        live = open_hub(settings.store)
        crm = crm_notes(settings, opened, outbox)
        calls = Calls(
            store=opened,
            models=models,
            actions=actions,
            open_incidents=open_incidents,
            catalogue=catalogue,
            live=live,
            outbox=outbox,
            clock=clock,
            crm=crm,
            region=settings.default_region,
            budget_ms=settings.inbound_budget_ms,
        )
        app.state.forecall = AppState(
            settings=settings,
            store=opened,
            clock=clock,
            catalogue=catalogue,
            keys=KeyRing(opened, clock, bootstrap),
            outbox=outbox,
            channels=channels,
            incidents=Incidents(
                opened, outbox, clock, set(channels), message_bytes=settings.limits.message_bytes
            ),
            models=models,
            actions=actions,
            open_incidents=open_incidents,
            live=live,
            crm=crm,
            calls=calls,
            approvals=Approvals(opened, outbox, clock, message_bytes=settings.limits.message_bytes),
            receipts=Receipts(outbox, clock),
            replies=Replies(opened, followups, clock, settings.default_region, crm),
            followups=followups,
            crm_sync=CrmSync(opened, catalogue, followups, clock, settings.default_region),
        )
        state: AppState = app.state.forecall
        if recent is not None:
            await demo.start(state, recent)
        await state.live.start()
        await calls.warm()
        await warm_routes(app)
        calls.start()
        stop = asyncio.Event()
        refresher = asyncio.create_task(state.open_incidents.run(stop), name="incidents")
        worker = None
        if settings.dispatcher.embedded:
            dispatcher = make_dispatcher(settings, opened, outbox, channels, clock)
            worker = asyncio.create_task(dispatcher.run(stop), name="dispatcher")
        keeper = asyncio.create_task(
            keep_alive(channels, stop, KEEP_ALIVE_SECONDS), name="keep-alive"
        )
        sweeper = None
        if settings.dispatcher.embedded and settings.dispatcher.sweep_hour_utc is not None:
            sweeper = asyncio.create_task(
                daily_sweep(state, settings.dispatcher.sweep_hour_utc, stop), name="sweep"
            )
        try:
            yield
        finally:
            stop.set()
            await state.live.close()  # ends the desk's event streams
            await refresher
            await keeper
            if worker is not None:
                await worker
            if sweeper is not None:
                await sweeper
            await calls.drain()
            for channel in channels.values():
                await channel.aclose()
            await client.aclose()
            await outbox.close()
            if store is None:  # a store handed in belongs to the caller
                await opened.close()

    app = FastAPI(
        title="Forecall",
        version="0.1.0",
        summary="Knows why a customer calls before they speak, and reaches out first.",
        lifespan=lifespan,
    )
    errors.install(app)
    openapi.install(app)
    routers = (
        health.router,
        customers.router,
        events.router,
        keys.router,
        incidents.router,
        inbound.router,
        channel_routes.router,
        voice.router,
        scenarios.router,
        approvals.router,
        crm.router,
        amocrm.router,
        desk.router,
        console.router,
    )
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=desk.STATIC), name="static")
    app.add_middleware(
        BodyLimit,
        limit=settings.limits.body_bytes,
        routes={"/v1/events": settings.limits.batch_body_bytes},
    )
    app.add_middleware(RequestMetrics)  # outermost: early 413s are counted too
    return app


async def daily_sweep(state: AppState, hour_utc: int, stop: asyncio.Event) -> None:
    """Run the sweep (inactivity, birthdays) once a day at `hour_utc`."""
    from proactive.sweep import sweep

    log = logging.getLogger("forecall.sweep")
    while not stop.is_set():
        now = datetime.now(UTC)
        due = now.replace(hour=hour_utc, minute=0, second=0, microsecond=0)
        if due <= now:
            due += timedelta(days=1)
        try:
            await asyncio.wait_for(stop.wait(), (due - now).total_seconds())
            return
        except TimeoutError:
            pass
        try:
            result = await sweep(
                state.store,
                state.followups,
                state.catalogue,
                state.clock.now(),
                state.settings.default_time_zone,
            )
            log.info("sweep", extra={"customers": result.customers, "inactive": result.inactive})
        except Exception:
            log.exception("sweep failed; next one tomorrow")


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory` with several workers: each builds its app from FORECALL_*."""
    from api.logs import configure

    settings = Settings()
    configure(settings.log_level)
    return create_app(settings)
