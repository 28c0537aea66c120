"""Web sessions deleted while a request used them: the old system's outage signal."""

from prometheus_client import Counter

WEB_SESSIONS_INTERRUPTED = Counter(
    "rollcall_web_sessions_interrupted",
    "Requests whose web session was deleted meanwhile (sent to sign in again).",
)
