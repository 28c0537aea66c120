"""A mail to send, stored in the same transaction as the change that causes it."""

from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    # The idempotency key: the same key enqueued twice is one mail. It is also
    # the Message-ID's local part, so a copy resent after a crash is
    # recognisable as the same message.
    key = models.CharField(max_length=200, unique=True)
    to = models.JSONField(help_text="Recipient addresses.")
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    from_email = models.CharField(max_length=254, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # While a drainer sends it; past this time the send is taken to have died with its process.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Which drain holds the claim: only it may send the mail and record the outcome.
    claimed_by = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_until"],
                name="outbox_claimed",
                condition=Q(status="sending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed"]),
                name="outbox_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbox_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_until__isnull=False),
                name="outbox_sending_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)} ({self.status})"
