"""The floor for the inbound benchmark: the least a FastAPI service can do per call.

Parse the body, ONE Redis GET (the caller's record), a 1 KB JSON answer. Nothing real
can be faster on the same stack, so Forecall's figures are read as ratios to this one.

    FLOOR_REDIS_URL=redis://127.0.0.1:6379/12 uvicorn bench.floor_app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response

REDIS_URL = os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/12")
PREFIX = "floor:"
# About what an IVR needs: the action, the prompt, the route, who is calling and why.
SAY = "Здравствуйте! Вы звоните по поводу вашего заказа? Скажите «да» или «нет». " * 6


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.redis = aioredis.Redis.from_url(REDIS_URL)
    yield
    await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.post("/v1/inbound")
async def inbound(request: Request) -> Response:
    body = orjson.loads(await request.body())
    raw = await request.app.state.redis.get(PREFIX + str(body.get("caller")))
    record = orjson.loads(raw) if raw else None
    answer = {
        "call_id": body["call_id"],
        "degraded": False,
        "customer": record,
        "ivr": {
            "action_id": "route_general",
            "prompt_id": "general",
            "say": SAY,
            "language": "ru",
            "queue": "general",
            "priority": 0,
            "final": False,
        },
    }
    return Response(orjson.dumps(answer), media_type="application/json")
