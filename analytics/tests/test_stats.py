"""The figures behind the analytics page, read by the database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from analytics import stats
from analytics.tests.conftest import ended_class
from attendance.models import AttendanceRecord
from attendance.registers import mark_attendance
from payments.models import Term

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def everything():
    return stats.period_for(everything=True)


def test_each_session_has_its_rate_counting_late_as_attended_and_leaving_out_excused(
    course, lecturer, students
):
    first = ended_class(course, lecturer, MONDAY_9, {students[0]: 1, students[1]: 30})
    second = ended_class(course, lecturer, MONDAY_9 + timedelta(days=1), {students[0]: 2})
    record = AttendanceRecord.objects.get(session=second, student=students[4])
    mark_attendance(record=record, status="excused", by=lecturer, reason="Sick note")

    rows = stats.session_rates(course=course, period=everything())

    assert [r.session_id for r in rows] == [first.pk, second.pk]
    assert (rows[0].present, rows[0].late, rows[0].absent, rows[0].excused) == (1, 1, 3, 0)
    assert rows[0].rate == pytest.approx(2 / 5)
    assert (rows[1].present, rows[1].absent, rows[1].excused) == (1, 3, 1)
    assert rows[1].rate == pytest.approx(1 / 4)


def test_a_running_session_and_another_course_are_not_counted(
    course, other_course, lecturer, other_lecturer, students
):
    ended_class(other_course, other_lecturer, MONDAY_9, {})
    from attendance.sessions import start_session

    start_session(course=course, by=lecturer)
    assert stats.session_rates(course=course, period=everything()) == []


def test_the_active_term_limits_the_sessions(course, lecturer, students):
    ended_class(course, lecturer, MONDAY_9, {students[0]: 1})
    later = ended_class(course, lecturer, MONDAY_9 + timedelta(days=60), {students[0]: 1})
    Term.objects.create(
        name="Spring",
        year=2026,
        starts_on=later.date - timedelta(days=3),
        ends_on=later.date + timedelta(days=3),
        fee="100.00",
        due_on=later.date,
        is_active=True,
    )
    period = stats.period_for()
    assert period.term.name == "Spring"
    assert [r.session_id for r in stats.session_rates(course=course, period=period)] == [later.pk]
    assert len(stats.session_rates(course=course, period=everything())) == 2


def test_arrivals_are_binned_from_the_timetabled_start_else_the_opening(course, lecturer, students):
    # Opened 5 minutes early for a 09:00 class: minutes count from 09:00.
    ended_class(
        course,
        lecturer,
        MONDAY_9 - timedelta(minutes=5),
        {students[0]: -3, students[1]: 0, students[2]: 12},
        scheduled=MONDAY_9,
    )
    # No timetable: minutes count from the opening.
    ended_class(course, lecturer, MONDAY_9 + timedelta(days=1), {students[0]: 4, students[1]: 75})

    bins = {b.label: b.count for b in stats.arrival_histogram(course=course, period=everything())}

    assert bins == {
        "early": 1,
        "0–5": 2,
        "5–10": 0,
        "10–15": 1,
        "15–20": 0,
        "20–30": 0,
        "30–45": 0,
        "45–60": 0,
        "60+": 1,
    }


def test_a_status_set_by_hand_without_a_join_has_no_arrival(course, lecturer, students):
    session = ended_class(course, lecturer, MONDAY_9, {})
    record = AttendanceRecord.objects.get(session=session, student=students[0])
    mark_attendance(record=record, status="present", by=lecturer, reason="Forgot phone")
    bins = stats.arrival_histogram(course=course, period=everything())
    assert sum(b.count for b in bins) == 0


def test_weekday_and_hour_are_the_schools_local_time(settings, course, lecturer, students):
    settings.TIME_ZONE = "Africa/Nairobi"  # UTC+3, no daylight saving
    timezone.activate("Africa/Nairobi")
    try:
        # 22:30 UTC on Monday is 01:30 on Tuesday in Nairobi.
        ended_class(course, lecturer, datetime(2026, 3, 2, 22, 30, tzinfo=UTC), {students[0]: 1})
        ended_class(course, lecturer, datetime(2026, 3, 9, 22, 40, tzinfo=UTC), {})
        ended_class(course, lecturer, datetime(2026, 3, 4, 6, 0, tzinfo=UTC), {students[0]: 1})
        slots = stats.weekday_hour_rates(course=course, period=everything())
    finally:
        timezone.deactivate()

    assert [(s.weekday, s.hour, s.sessions, s.attended, s.counted) for s in slots] == [
        (2, 1, 2, 1, 10),
        (3, 9, 1, 1, 5),
    ]
    assert slots[0].rate == pytest.approx(0.1)


def test_the_timeline_counts_devices_connected_minute_by_minute(course, lecturer, students):
    from attendance.sessions import end_session, start_session
    from attendance.tests.builders import join

    session, _ = start_session(course=course, by=lecturer, now=MONDAY_9)
    joined = [
        join(session, s, MONDAY_9 + timedelta(minutes=m))
        for s, m in zip(students, (1, 1, 3, 5), strict=False)
    ]
    joined[0].disconnected_at = MONDAY_9 + timedelta(minutes=4, seconds=30)
    joined[0].is_connected = False
    joined[0].save()
    # Still connected while it runs: counted up to now.
    steps = stats.connected_timeline(session=session)
    assert [(s.at, s.connected) for s in steps[:5]] == [
        (MONDAY_9, 0),
        (MONDAY_9 + timedelta(minutes=1), 2),
        (MONDAY_9 + timedelta(minutes=3), 3),
        (MONDAY_9 + timedelta(minutes=4), 2),
        (MONDAY_9 + timedelta(minutes=5), 3),
    ]
    end_session(session=session, now=MONDAY_9 + timedelta(minutes=50))
    session.refresh_from_db()
    steps = stats.connected_timeline(session=session)
    # Ending the session disconnects every device: the count drops to 0 at its end.
    assert [(s.at, s.connected) for s in steps[-2:]] == [
        (MONDAY_9 + timedelta(minutes=5), 3),
        (MONDAY_9 + timedelta(minutes=50), 0),
    ]


def test_a_session_no_device_joined_has_no_timeline(course, lecturer, students):
    session = ended_class(course, lecturer, MONDAY_9, {})
    assert stats.connected_timeline(session=session) == []


def test_the_timeline_keeps_the_two_hours_of_an_autumn_night_apart(
    settings, course, lecturer, students
):
    """London's 01:00-02:00 happens twice on 25 October 2026 (BST, then GMT): a join in
    each is a minute of its own, an hour apart, not one minute counted twice."""
    from attendance.sessions import start_session
    from attendance.tests.builders import join

    settings.TIME_ZONE = "Europe/London"
    opened = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 01:00 BST
    session, _ = start_session(course=course, by=lecturer, now=opened)
    join(session, students[0], opened + timedelta(minutes=30))  # 01:30 BST
    join(session, students[1], opened + timedelta(minutes=90))  # 01:30 GMT
    steps = stats.connected_timeline(session=session)
    assert [(s.at.astimezone(UTC), s.connected) for s in steps[:3]] == [
        (opened, 0),
        (opened + timedelta(minutes=30), 1),
        (opened + timedelta(minutes=90), 2),
    ]
