"""Prometheus metrics of outbound work. Labels: channel, outcome, reason — never a person."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_TOTAL = Counter(
    "forecall_messages_total",
    "Outbound message outcomes by channel (sent, retry, rejected, dead, failed, suppressed,"
    " resent: sent again after its worker died mid-request, lost: claim taken over before"
    " the request).",
    ["channel", "outcome"],
)
DISPATCH_SECONDS = Histogram(
    "forecall_provider_send_duration_seconds",
    "Time a provider took to accept or refuse one message.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PURGED_TOTAL = Counter(
    "forecall_outbox_purged_total", "Finished outbox messages removed by retention."
)
FOLLOWUPS_TOTAL = Counter(
    "forecall_followups_total",
    "Follow-up scenario events: scheduled, holdout, cancelled, blocked:<reason>, converted_*.",
    ["scenario", "outcome"],
)
POLICY_TOTAL = Counter(
    "forecall_policy_decisions_total",
    "Contact-policy blocks and deferrals at send time, by category and reason.",
    ["category", "decision", "reason"],
)
UNSUBSCRIBE_RATE = Gauge(
    "forecall_scenario_unsubscribe_rate",
    "Unsubscribes per treated customer of a scenario (read by the report).",
    ["scenario"],
)
UNSUBSCRIBE_ALERT = Gauge(
    "forecall_scenario_unsubscribe_alert",
    "1 when a scenario's unsubscribe rate is over 5%: stop and rewrite it.",
    ["scenario"],
)
