"""Manual changes to a written register, each one kept in the audit trail."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from attendance import hooks
from attendance.models import AttendanceChange, AttendanceRecord, NetworkSession

Status = AttendanceRecord.Status


class InvalidMark(ValueError):
    """A manual mark that cannot be made; the message says why."""


def _checked(*, status: str, reason: str) -> str:
    """The reason, stripped, if the status and reason are acceptable; else InvalidMark."""
    reason = (reason or "").strip()
    if status not in Status.values:
        raise InvalidMark(f"Unknown status {status!r}; use one of {', '.join(Status.values)}.")
    if not reason:
        raise InvalidMark("Give a reason for the change.")
    if len(reason) > 500:
        raise InvalidMark("Keep the reason under 500 characters.")
    if "\x00" in reason:
        raise InvalidMark("A reason cannot contain a null character.")
    return reason


def mark_attendance(
    *,
    record: AttendanceRecord,
    status: str,
    by: AbstractBaseUser | None,
    reason: str,
    now: datetime | None = None,
) -> AttendanceRecord:
    """Set `record`'s status by hand, writing who, when, from, to and why.

    A mark to the status it already has changes nothing and writes no audit row.
    """
    reason = _checked(status=status, reason=reason)
    with transaction.atomic():
        locked = (
            AttendanceRecord.objects.select_related("session")
            .select_for_update(of=("self",))
            .get(pk=record.pk)
        )
        # Timed once the lock is ours: marks of one record are applied in lock
        # order, and the audit trail, read by time, must tell them in that order.
        now = now or timezone.now()
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
            hooks.register_changed(
                course_id=locked.session.course_id, student_ids=[locked.student_id]
            )
    for name in ("status", "source", "updated_at"):
        setattr(record, name, getattr(locked, name))
    return record


def mark_many(
    *,
    session: NetworkSession,
    student_ids: list[int],
    status: str,
    by: AbstractBaseUser | None,
    reason: str,
    now: datetime | None = None,
) -> list[AttendanceRecord]:
    """Give several students of `session`'s register one status, for one reason.

    Each changed record gets its own audit row, as a single mark would; those
    already at `status` are left alone. All or nothing: a student not in the
    register refuses the whole mark. Four queries whatever the number of students.
    Returns the records that changed.
    """
    reason = _checked(status=status, reason=reason)
    wanted = set(student_ids)
    if not wanted:
        raise InvalidMark("Choose at least one student.")
    if session.is_active:
        raise InvalidMark("The register is written when the session ends; mark students then.")
    who = by if by is not None and by.is_authenticated else None
    with transaction.atomic():
        records = list(
            AttendanceRecord.objects.select_for_update()
            .filter(session=session, student_id__in=wanted)
            .order_by("pk")
        )
        now = now or timezone.now()  # once the locks are ours, as in mark_attendance
        missing = len(wanted) - len(records)
        if missing:
            raise InvalidMark(
                f"{missing} of the chosen students {'is' if missing == 1 else 'are'} not in "
                "this register."
            )
        changing = [record for record in records if record.status != status]
        AttendanceChange.objects.bulk_create(
            AttendanceChange(
                record=record,
                changed_by=who,
                changed_at=now,
                from_status=record.status,
                to_status=status,
                reason=reason,
            )
            for record in changing
        )
        AttendanceRecord.objects.filter(pk__in=[record.pk for record in changing]).update(
            status=status, source=AttendanceRecord.Source.MANUAL, updated_at=now
        )
        if changing:
            hooks.register_changed(
                course_id=session.course_id, student_ids=[record.student_id for record in changing]
            )
    for record in changing:
        record.status, record.source, record.updated_at = status, "manual", now
    return changing
