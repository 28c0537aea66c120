"""A school week lived through with time-machine on PostgreSQL: the sweep runs every
five minutes, classes open and end on time with their registers, a holiday is
skipped, and a class keeps its local time across the clock change."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from attendance import sweeper
from attendance.models import AttendanceRecord, Course, NetworkSession
from attendance.tests.builders import join
from timetable.models import Closure
from timetable.tests.builders import MONDAY, at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

STEP = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)


def live_through(start: datetime, end: datetime, *, on_open=None) -> list[tuple[datetime, dict]]:
    """Sweep every STEP from `start` to `end`, as the sweeper process would; what each did."""
    done = []
    with time_machine.travel(start, tick=False) as traveller:
        moment = start
        while moment <= end:
            traveller.move_to(moment)
            jobs = sweeper.sweep_once().jobs
            if jobs:
                done.append((moment, jobs))
                if on_open and jobs.get("classes_opened"):
                    on_open(moment)
            moment += STEP
    return done


def test_a_week_of_classes_opens_and_ends_on_time_with_registers_and_skips_the_holiday(
    course, students, lecturer, make_meeting
):
    physics = Course.objects.create(code="PHYS110", title="Mechanics")
    physics.lecturers.add(lecturer)
    for student in students[:3]:
        physics.enrollments.create(student=student)
    for weekday in (0, 2, 4):
        make_meeting(course, weekday=weekday, at=time(9, 0), minutes=60)
    for weekday in (1, 3):
        make_meeting(physics, weekday=weekday, at=time(10, 30), minutes=90)
    wednesday = MONDAY + timedelta(days=2)
    Closure.objects.create(name="Founders' Day", starts_on=wednesday, ends_on=wednesday)

    def a_student_arrives(moment):
        # The first student walks in two minutes after the session opens.
        session = NetworkSession.objects.filter(is_active=True).latest()
        join(session, students[0], moment + timedelta(minutes=2))

    # School hours, Monday to Friday (the nights hold nothing to do).
    log = []
    for offset in range(5):
        day = MONDAY + timedelta(days=offset)
        log += live_through(at(day, 8), at(day, 13), on_open=a_student_arrives)

    sessions = list(NetworkSession.objects.order_by("started_at").select_related("course"))
    expected = [
        ("MATH101", MONDAY, 9, 0, 60),
        ("PHYS110", MONDAY + timedelta(days=1), 10, 30, 90),
        ("PHYS110", MONDAY + timedelta(days=3), 10, 30, 90),
        ("MATH101", MONDAY + timedelta(days=4), 9, 0, 60),
    ]
    assert [(s.course.code, s.date) for s in sessions] == [(c, d) for c, d, *_ in expected]
    for session, (_code, day, hour, minute, minutes) in zip(sessions, expected, strict=True):
        start = at(day, hour, minute)
        assert session.scheduled_start == start
        assert session.started_at == start - timedelta(minutes=5)
        assert session.ended_at == start + timedelta(minutes=minutes + 5)
        assert session.end_reason == "scheduled"
        register = dict(
            AttendanceRecord.objects.filter(session=session).values_list("student_id", "status")
        )
        assert len(register) == session.course.enrollments.count()
        assert register[students[0].pk] == "present"
        assert list(register.values()).count("absent") == len(register) - 1
    assert not NetworkSession.objects.filter(date=wednesday).exists()
    # Each sweep that did something did one thing: open or end.
    assert len(log) == 8


def test_a_class_keeps_its_local_time_across_the_clock_change(
    settings, course, students, make_meeting
):
    settings.TIME_ZONE = "Europe/London"
    # British Summer Time starts at 01:00 UTC on Sunday 29 March 2026.
    make_meeting(course, weekday=0, at=time(9, 0))
    make_meeting(course, weekday=6, at=time(9, 0))
    for morning in (23, 29, 30):  # Monday (GMT), the Sunday of the change, Monday (BST)
        start = datetime(2026, 3, morning, 7, 0, tzinfo=UTC)
        live_through(start, start + timedelta(hours=3, minutes=30))

    opened = [
        (s.date.isoformat(), s.started_at.astimezone(UTC).strftime("%H:%M"))
        for s in NetworkSession.objects.order_by("started_at")
    ]
    # 08:55 school time each day: 08:55 UTC in winter, 07:55 UTC in summer.
    assert opened == [("2026-03-23", "08:55"), ("2026-03-29", "07:55"), ("2026-03-30", "07:55")]
    for session in NetworkSession.objects.all():
        local = session.scheduled_start.astimezone(settings_zone())
        assert local.strftime("%H:%M") == "09:00"
        assert session.ended_at - session.scheduled_start == timedelta(minutes=65)


def settings_zone():
    from django.utils import timezone

    return timezone.get_default_timezone()
