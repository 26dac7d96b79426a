"""The baseline for ingest: a bare FastAPI endpoint that parses the same body and counts it."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@app.post("/v1/events")
async def echo(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(orjson.dumps({"received": len(body["events"])}), media_type="application/json")
