from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session

pytestmark = pytest.mark.django_db


def test_it_creates_a_session_with_a_six_digit_join_code(course, lecturer):
    session, created = start_session(course=course, by=lecturer)
    assert created
    session.refresh_from_db()
    assert session.is_active and session.started_by == lecturer
    assert len(session.join_code) == 6 and session.join_code.isdigit()
    assert session.date == timezone.localdate()


def test_a_second_start_returns_the_running_session(course, lecturer, other_lecturer):
    first, _ = start_session(course=course, by=lecturer)
    again, created = start_session(course=course, by=other_lecturer)
    assert not created
    assert again.pk == first.pk
    assert NetworkSession.objects.count() == 1


def test_after_the_end_a_new_session_can_start_the_same_day(course, lecturer):
    from attendance.sessions import end_session

    first, _ = start_session(course=course, by=lecturer)
    end_session(session=first)
    second, created = start_session(course=course, by=lecturer)
    assert created and second.pk != first.pk


@pytest.mark.parametrize(
    ("zone", "utc_moment", "local_date"),
    [
        # 23:30 in New York is 04:30 the next day in UTC.
        ("America/New_York", datetime(2026, 3, 10, 3, 30, tzinfo=UTC), date(2026, 3, 9)),
        # 00:30 in Lagos is still 23:30 the day before in UTC.
        ("Africa/Lagos", datetime(2026, 3, 9, 23, 30, tzinfo=UTC), date(2026, 3, 10)),
    ],
)
def test_the_date_is_the_schools_local_date(
    course, lecturer, settings, zone, utc_moment, local_date
):
    settings.TIME_ZONE = zone
    session, _ = start_session(course=course, by=lecturer, now=utc_moment)
    session.refresh_from_db()
    assert session.date == local_date
    assert session.started_at == utc_moment


def test_yesterdays_running_session_is_superseded_with_its_register(course, students, lecturer):
    yesterday = timezone.now() - timedelta(days=1)
    old, _ = start_session(course=course, by=lecturer, now=yesterday)
    new, created = start_session(course=course, by=lecturer)
    assert created
    old.refresh_from_db()
    assert not old.is_active and old.end_reason == "superseded"
    assert AttendanceRecord.objects.filter(session=old, status="absent").count() == 5
    new.refresh_from_db()
    assert new.is_active


def test_active_sessions_get_different_join_codes(course, other_course, lecturer):
    a, _ = start_session(course=course, by=lecturer)
    b, _ = start_session(course=other_course, by=lecturer)
    assert a.join_code != b.join_code


def test_only_a_new_session_is_announced(course, lecturer, monkeypatch):
    from realtime import broadcast

    announced = []
    monkeypatch.setattr(broadcast, "publish", lambda groups, event: announced.append(event))
    session, _ = start_session(course=course, by=lecturer)
    start_session(course=course, by=lecturer)
    assert [(e["type"], e["session"]) for e in announced] == [
        ("session.started", session.pk),
        ("session.code", session.pk),
    ]


@pytest.mark.django_db(transaction=True)
def test_starting_a_course_deleted_meanwhile_says_so_instead_of_retrying(course, lecturer):
    """An admin deleted the course after the lecturer's page loaded it: the new session's
    foreign key fails, and no retry can succeed."""
    from attendance.models import Course

    Course.objects.filter(pk=course.pk).delete()
    with pytest.raises(Course.DoesNotExist):
        start_session(course=course, by=lecturer)
    assert not NetworkSession.objects.exists()
