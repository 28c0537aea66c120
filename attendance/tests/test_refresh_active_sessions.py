from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import refresh_active_sessions, start_session

pytestmark = pytest.mark.django_db


def leftover(course, *, days_ago: int, code: str) -> NetworkSession:
    at = timezone.now() - timedelta(days=days_ago)
    return NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(at),
        started_at=at,
        join_code=code,
        code_rotated_at=at,
    )


def test_it_keeps_the_newest_session_per_course_and_supersedes_the_rest(
    course, students, other_course, settings
):
    settings.ATTENDANCE_SESSION_MAX_HOURS = 24 * 7
    oldest = leftover(course, days_ago=2, code="100001")
    older = leftover(course, days_ago=1, code="100002")
    newest, _ = start_session(course=course, by=None)
    # start_session supersedes what it finds; put the leftovers back to test the sweep.
    NetworkSession.objects.filter(pk__in=[oldest.pk, older.pk]).update(
        is_active=True, ended_at=None, end_reason=""
    )
    AttendanceRecord.objects.all().delete()
    other, _ = start_session(course=other_course, by=None)

    counts = refresh_active_sessions()

    assert counts == {"expired": 0, "superseded": 2, "active": 2}
    for stale in (oldest, older):
        stale.refresh_from_db()
        assert (stale.is_active, stale.end_reason) == (False, "superseded")
        assert AttendanceRecord.objects.filter(session=stale).count() == 5
    newest.refresh_from_db()
    other.refresh_from_db()
    assert newest.is_active and other.is_active


def test_it_expires_old_sessions_too(course, students):
    start_session(course=course, by=None, now=timezone.now() - timedelta(hours=5))
    assert refresh_active_sessions() == {"expired": 1, "superseded": 0, "active": 0}
    assert AttendanceRecord.objects.count() == 5


def test_with_nothing_to_do_it_changes_nothing(course, students):
    session, _ = start_session(course=course, by=None)
    assert refresh_active_sessions() == {"expired": 0, "superseded": 0, "active": 1}
    session.refresh_from_db()
    assert session.is_active
