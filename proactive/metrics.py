"""Prometheus metrics of outbound work. Labels: channel, outcome, reason — never a person."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES_TOTAL = Counter(
    "forecall_messages_total",
    "Outbound message outcomes by channel (sent, retry, rejected, dead, failed, suppressed).",
    ["channel", "outcome"],
)
DISPATCH_SECONDS = Histogram(
    "forecall_provider_send_duration_seconds",
    "Time a provider took to accept or refuse one message.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
