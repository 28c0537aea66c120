"""Manual changes to a written register, each one kept in the audit trail."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from attendance.models import AttendanceChange, AttendanceRecord

Status = AttendanceRecord.Status


class InvalidMark(ValueError):
    """A manual mark that cannot be made; the message says why."""


def mark_attendance(
    *, record: AttendanceRecord, status: str, by: AbstractBaseUser | None, reason: str
) -> AttendanceRecord:
    """Set `record`'s status by hand, writing who, when, from, to and why.

    A mark to the status it already has changes nothing and writes no audit row.
    """
    reason = (reason or "").strip()
    if status not in Status.values:
        raise InvalidMark(f"Unknown status {status!r}; use one of {', '.join(Status.values)}.")
    if not reason:
        raise InvalidMark("Give a reason for the change.")
    if len(reason) > 500:
        raise InvalidMark("Keep the reason under 500 characters.")
    now = timezone.now()
    with transaction.atomic():
        locked = AttendanceRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status != status:
            AttendanceChange.objects.create(
                record=locked,
                changed_by=by if by is not None and by.is_authenticated else None,
                changed_at=now,
                from_status=locked.status,
                to_status=status,
                reason=reason,
            )
            locked.status = status
            locked.source = AttendanceRecord.Source.MANUAL
            locked.updated_at = now
            locked.save(update_fields=["status", "source", "updated_at"])
    for name in ("status", "source", "updated_at"):
        setattr(record, name, getattr(locked, name))
    return record
