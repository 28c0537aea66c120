"""Races PostgreSQL decides: sweepers opening one class, a cancel against the sweep,
two overlapping meetings saved at once."""

from datetime import time, timedelta

import pytest

from attendance import sweeper
from attendance.models import NetworkSession
from conftest import run_at_once
from timetable import meetings
from timetable.meetings import TimetableError
from timetable.models import Meeting, Occurrence
from timetable.tests.builders import MONDAY, at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_sweepers_at_once_open_a_class_exactly_once(course, students, make_meeting):
    make_meeting(course)
    results = run_at_once(4, lambda i: sweeper.sweep_once(now=at(MONDAY, 8, 56)))
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.jobs.get("classes_opened", 0) for r in results) == 1
    assert Occurrence.objects.count() == 1
    session = NetworkSession.objects.get()
    assert Occurrence.objects.get().session == session
    # And they end it once, with one register (each sweeper's clock a second apart).
    results = run_at_once(
        4, lambda i: sweeper.sweep_once(now=at(MONDAY, 10, 5) + timedelta(seconds=i))
    )
    assert sum(r.jobs.get("classes_ended", 0) for r in results) == 1
    assert sum(r.jobs.get("class_records", 0) for r in results) == 5
    assert session.records.count() == 5


def test_sweepers_at_once_open_a_morning_of_classes_each_exactly_once(make_meeting):
    from attendance.models import Course

    courses = [Course.objects.create(code=f"M{i:02d}", title="t") for i in range(12)]
    for course in courses:
        make_meeting(course)
    # Two at the same instant (as `cleanup_sessions --now` gives), two a second later.
    results = run_at_once(
        4, lambda i: sweeper.sweep_once(now=at(MONDAY, 8, 56) + timedelta(seconds=i // 2))
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.jobs.get("classes_opened", 0) for r in results) == 12
    assert Occurrence.objects.count() == 12
    assert NetworkSession.objects.filter(is_active=True).count() == 12
    assert not Occurrence.objects.filter(session__isnull=True).exists()
    assert sorted(NetworkSession.objects.values_list("course_id", flat=True)) == sorted(
        c.pk for c in courses
    )


def test_a_cancel_racing_the_sweep_either_wins_or_is_told_the_class_opened(
    course, make_meeting, lecturer
):
    meeting = make_meeting(course)

    def work(i):
        if i == 0:
            return sweeper.sweep_once(now=at(MONDAY, 8, 56))
        return meetings.cancel_class(
            meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 8, 56)
        )

    for _ in range(3):
        Occurrence.objects.all().delete()
        NetworkSession.objects.all().delete()
        sweep, cancel = run_at_once(2, work)
        occurrence = Occurrence.objects.get()
        if occurrence.status == "cancelled":
            assert sweep.jobs == {} and not NetworkSession.objects.exists()
            assert cancel.pk == occurrence.pk
        else:
            assert sweep.jobs == {"classes_opened": 1}
            assert isinstance(cancel, TimetableError)
            assert occurrence.session == NetworkSession.objects.get()


def test_two_overlapping_meetings_saved_at_once_keep_one(course, term):
    def work(i):
        return meetings.meeting_create(
            course=course,
            term=term,
            weekday=0,
            start_time=time(9, 0) if i == 0 else time(9, 30),
            duration_minutes=60,
        )

    results = run_at_once(2, work)
    assert sum(isinstance(r, tuple) for r in results) == 1
    [refused] = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refused, TimetableError) and "overlaps" in str(refused)
    assert Meeting.objects.count() == 1


def test_cancels_racing_restores_never_fail(course, make_meeting, lecturer):
    """A restore may delete the cancellation a cancel's failed insert then looks for."""
    meeting = make_meeting(course)
    now = at(MONDAY, 7, 0)
    for _ in range(10):
        occurrence = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=now)

        def work(i, occurrence=occurrence):
            if i < 2:
                return meetings.restore_class(occurrence=occurrence, now=now)
            return meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=now)

        results = run_at_once(6, work)
        assert not any(isinstance(r, Exception) for r in results), results
        # Whatever the order, the day is cancelled at most once.
        assert Occurrence.objects.filter(meeting=meeting, date=MONDAY).count() <= 1
        Occurrence.objects.all().delete()
