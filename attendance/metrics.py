"""The sweep's Prometheus metrics (exposed by ops: /metrics, or the sweeper's --metrics-port).

Alert on `rollcall_sweep_last_success_age_seconds` of the sweeper process: it
grows while sweeps fail (the database is away, say) and registers stop being
written for forgotten sessions. It is NaN in a process that never swept (a web
process in production), so only the sweeper's own figure can alert.
"""

import math
import time

from prometheus_client import Counter, Gauge

SESSIONS_ENDED = Counter(
    "rollcall_sweep_sessions_ended",
    "Class sessions the sweep ended, by reason (expired, superseded).",
    ["reason"],
)
SWEEP_FAILURES = Counter("rollcall_sweep_failures", "Sweeps that failed (and are tried again).")
LAST_SUCCESS = Gauge(
    "rollcall_sweep_last_success_timestamp_seconds", "When this process last swept successfully."
)
_started: float | None = None
_succeeded: float | None = None


def _age() -> float:
    since = _succeeded or _started
    return math.nan if since is None else time.time() - since


LAST_SUCCESS_AGE = Gauge(
    "rollcall_sweep_last_success_age_seconds",
    "Seconds since this process last swept successfully (since it began sweeping, "
    "before its first success); NaN if it does not sweep.",
)
LAST_SUCCESS_AGE.set_function(_age)
for _reason in ("expired", "superseded"):
    SESSIONS_ENDED.labels(reason=_reason)  # present at 0 from the start


def sweep_began() -> None:
    global _started
    if _started is None:
        _started = time.time()


def sweep_failed() -> None:
    SWEEP_FAILURES.inc()


def sweep_succeeded(*, expired: int, superseded: int) -> None:
    global _succeeded
    _succeeded = time.time()
    LAST_SUCCESS.set(_succeeded)
    SESSIONS_ENDED.labels(reason="expired").inc(expired)
    SESSIONS_ENDED.labels(reason="superseded").inc(superseded)
