"""Registers built directly for the report tests: ended sessions with chosen statuses."""

from datetime import timedelta

from django.utils import timezone

from attendance.models import AttendanceRecord, Course, NetworkSession, Student
from reports.standings import register_changed

_codes = iter(range(100000, 999999))


def ended_session(course: Course, *, days_ago: int = 0) -> NetworkSession:
    started = timezone.now() - timedelta(days=days_ago, hours=1)
    return NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(started),
        started_at=started,
        ended_at=started + timedelta(minutes=50),
        is_active=False,
        end_reason="ended",
        join_code=str(next(_codes)),
        code_rotated_at=started,
    )


def write_register(
    course: Course, statuses: dict[Student, str], *, days_ago: int = 0, hook: bool = True
) -> NetworkSession:
    """An ended session of `course` whose register holds `statuses`; the standings hook
    runs as a register write would run it (unless hook=False)."""
    session = ended_session(course, days_ago=days_ago)
    now = timezone.now()
    AttendanceRecord.objects.bulk_create(
        AttendanceRecord(session=session, student=s, status=status, created_at=now, updated_at=now)
        for s, status in statuses.items()
    )
    if hook:
        register_changed(course_id=course.pk, student_ids=[s.pk for s in statuses])
    return session


def everyone(students, status: str) -> dict:
    return dict.fromkeys(students, status)
