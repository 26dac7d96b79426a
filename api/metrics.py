"""Prometheus metrics. Labels are low-cardinality: never a customer id or an identity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

REQUEST_SECONDS = Histogram(
    "forecall_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_TOTAL = Counter(
    "forecall_events_ingested_total",
    "Events received by ingest, by outcome (applied, duplicate, stale).",
    ["outcome"],
)
BATCHES_REJECTED_TOTAL = Counter(
    "forecall_event_batches_rejected_total",
    "Event batches rejected whole, by HTTP status.",
    ["status"],
)
INGEST_SECONDS = Histogram(
    "forecall_ingest_batch_duration_seconds",
    "Time to fold one event batch into the store.",
    buckets=LATENCY_BUCKETS,
)
STORE_ERRORS_TOTAL = Counter(
    "forecall_store_errors_total",
    "Requests that failed because the store did not answer.",
    ["route"],
)
STORE_UP = Gauge("forecall_store_up", "1 when the last readiness check reached the store.")


@contextmanager
def track_latency(histogram: Histogram) -> Iterator[None]:
    started = perf_counter()
    try:
        yield
    finally:
        histogram.observe(perf_counter() - started)
