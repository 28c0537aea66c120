"""The real-time layer's Prometheus metrics, in prometheus_client's default registry.

Each server process counts its own sockets and pushes; whatever exposes the
default registry (the /metrics endpoint) serves them. They are updated on the
event loop's thread almost everywhere, so their locks are never contended: a
join costs one uncontended counter increment. Label values come from fixed
sets below, never from user input, so the number of series stays fixed.
"""

from prometheus_client import Counter, Gauge, Histogram

OPEN_SOCKETS = Gauge(
    "rollcall_realtime_open_sockets",
    "WebSocket connections open in this process, by kind of socket (read when scraped).",
    ["kind"],
)
SOCKET_KINDS = ("device", "dashboard", "events")

JOINS = Counter(
    "rollcall_realtime_joins_total",
    "Device join requests answered by this process, by outcome.",
    ["outcome"],
)
JOIN_OUTCOMES = (
    "joined",
    "invalid_code",
    "not_enrolled",
    "no_active_session",
    "rate_limited",
    "revoked",
    "unavailable",
    "bad_message",
)

JOIN_PUSH_SECONDS = Histogram(
    "rollcall_realtime_join_push_seconds",
    "From the first presence change a count push carries (a join, committed) to that "
    "push being published by this process.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

PUSHES = Counter(
    "rollcall_realtime_pushes_total",
    "Events sent to lecturer sockets (dashboard and events), by event type.",
    ["event"],
)
PUSH_EVENTS = ("session.counts", "session.started", "session.code", "session.ended", "snapshot")

PUBLISH_FAILURES = Counter(
    "rollcall_realtime_publish_failures_total",
    "Channel-layer publishes (one per group) that failed; each is tried again.",
)

LAYER_OUTAGES = Counter(
    "rollcall_realtime_layer_outages_total",
    "Times this process's channel layer lost its Redis connection.",
)

DEVICES_REPLACED = Counter(
    "rollcall_realtime_devices_replaced_total",
    "Device sockets closed because the same device said hello on a newer socket.",
)

# Children made once: every series exists (at 0) from the start, and a hot
# path increments a child without looking up its labels.
joins = {outcome: JOINS.labels(outcome) for outcome in JOIN_OUTCOMES}
pushes = {event: PUSHES.labels(event) for event in PUSH_EVENTS}
