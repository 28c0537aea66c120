"""When a first join counts as late: one rule for the register and the live name list."""

from datetime import datetime, timedelta

from django.conf import settings

from attendance.models import NetworkSession


def late_after(*, session: NetworkSession, course_late_after_minutes: int | None) -> datetime:
    """The moment after which a first join is late.

    Counted from the scheduled start of a timetabled class (else from the
    session's start), by the session's own threshold, else the course's,
    else the school's ATTENDANCE_LATE_AFTER_MINUTES.
    """
    minutes = session.late_after_minutes
    if minutes is None:
        minutes = course_late_after_minutes
    if minutes is None:
        minutes = settings.ATTENDANCE_LATE_AFTER_MINUTES
    return (session.scheduled_start or session.started_at) + timedelta(minutes=minutes)
