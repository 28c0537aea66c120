"""Excuse requests: a student asks their course's lecturers to excuse an absence or a
late mark of a written register; a lecturer approves or rejects it with a comment."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from attendance.models import AttendanceRecord, Course, Student


def attachment_path(instance: "ExcuseRequest", filename: str) -> str:
    """A name nobody chooses: the student's file name is kept apart (attachment_name)."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"excuses/{uuid.uuid4().hex}.{extension}"


class ExcuseRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    record = models.ForeignKey(
        AttendanceRecord, on_delete=models.CASCADE, related_name="excuse_requests"
    )
    # The record's student and course, copied when the request is made (a record
    # never changes student or session), so each list is read from one index.
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="excuse_requests")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="excuse_requests")
    from_status = models.CharField(
        max_length=10,
        choices=AttendanceRecord.Status.choices,
        help_text="The register's mark when the student asked.",
    )
    reason = models.TextField(max_length=1000)
    attachment = models.FileField(upload_to=attachment_path, blank=True, max_length=200)
    attachment_name = models.CharField(max_length=120, blank=True)
    attachment_type = models.CharField(max_length=40, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_comment = models.TextField(max_length=1000, blank=True)

    class Meta:
        constraints = [
            # At most one request waits per register entry; two submissions at
            # once leave one (the other's insert fails on this index).
            models.UniqueConstraint(
                fields=["record"],
                condition=Q(state="pending"),
                name="excuse_one_pending_per_record",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "approved", "rejected"]),
                name="excuse_state_valid",
            ),
            # Decided exactly when it is no longer pending.
            models.CheckConstraint(
                condition=(
                    Q(state="pending", decided_at__isnull=True)
                    | (~Q(state="pending") & Q(decided_at__isnull=False))
                ),
                name="excuse_decided_when_not_pending",
            ),
            models.CheckConstraint(
                condition=Q(from_status__in=["absent", "late"]),
                name="excuse_from_absent_or_late",
            ),
        ]
        indexes = [
            # The lecturers' queue: per course, waiting first, oldest waiting first.
            # PostgreSQL sorts NULLs first in a descending index, so the waiting
            # (decided_at NULL) lead, as the queue's ORDER BY asks.
            models.Index(
                fields=["course", "-decided_at", "submitted_at", "id"], name="excuse_queue"
            ),
            # The same order over every course, for staff.
            models.Index(fields=["-decided_at", "submitted_at", "id"], name="excuse_queue_all"),
            # A student's own requests, newest first.
            models.Index(fields=["student", "-submitted_at", "-id"], name="excuse_by_student"),
        ]

    def __str__(self) -> str:
        return f"Excuse {self.pk} ({self.state}) for {self.record_id}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING
