"""The outbox's Prometheus metrics: mail sent, send attempts that failed, mail given up on."""

from prometheus_client import Counter

SENT = Counter("rollcall_outbox_sent", "Mails the mail server accepted.")
SEND_ERRORS = Counter(
    "rollcall_outbox_send_errors", "Send attempts that failed (retried later, or given up)."
)
FAILED = Counter(
    "rollcall_outbox_failed", "Mails given up on after OUTBOX_MAX_ATTEMPTS (admin: Send again)."
)
