"""The sweep opens timetabled classes before they start and ends them after, with registers."""

from datetime import time, timedelta

import pytest

from attendance import sweeper
from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join
from timetable import meetings
from timetable.models import Closure, Occurrence
from timetable.sweep import due_classes, open_class, sweep_job
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)


def sweep(now):
    return sweeper.sweep_once(now=now)


def test_a_class_opens_five_minutes_before_it_starts_and_not_earlier(course, make_meeting):
    make_meeting(course, room="A1")
    assert not sweep(at(MONDAY, 8, 54)).jobs
    result = sweep(at(MONDAY, 8, 55))
    assert result.jobs == {"classes_opened": 1}
    session = NetworkSession.objects.get(course=course, is_active=True)
    assert session.started_at == at(MONDAY, 8, 55)
    assert session.scheduled_start == at(MONDAY, 9, 0)
    assert session.started_by is None
    occurrence = Occurrence.objects.get()
    assert (occurrence.session, occurrence.room, occurrence.date) == (session, "A1", MONDAY)


def test_the_lead_is_a_setting(course, make_meeting, settings):
    settings.TIMETABLE_OPEN_LEAD_MINUTES = 15
    make_meeting(course)
    assert sweep(at(MONDAY, 8, 45)).jobs == {"classes_opened": 1}


def test_it_ends_at_the_end_plus_grace_and_writes_the_register(course, students, make_meeting):
    make_meeting(course)
    sweep(at(MONDAY, 8, 55))
    session = NetworkSession.objects.get(course=course)
    join(session, students[0], at(MONDAY, 8, 58))
    assert not sweep(at(MONDAY, 10, 4)).jobs
    result = sweep(at(MONDAY, 10, 5))
    assert result.jobs == {"classes_ended": 1, "class_records": 5}
    session.refresh_from_db()
    assert (session.is_active, session.end_reason) == (False, "scheduled")
    assert session.ended_at == at(MONDAY, 10, 5)
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert statuses[students[0].pk] == "present"
    assert sorted(statuses.values()).count("absent") == 4


def test_lateness_counts_from_the_scheduled_start_not_the_opening(course, students, make_meeting):
    # Opened at 08:55; 10 minutes late means after 09:10, not after 09:05.
    make_meeting(course)
    sweep(at(MONDAY, 8, 55))
    session = NetworkSession.objects.get(course=course)
    join(session, students[0], at(MONDAY, 9, 8))
    join(session, students[1], at(MONDAY, 9, 12))
    sweep(at(MONDAY, 10, 5))
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert statuses[students[0].pk] == "present"
    assert statuses[students[1].pk] == "late"


def test_the_meetings_own_late_threshold_wins_over_the_courses(course, students, make_meeting):
    course.late_after_minutes = 30
    course.save()
    make_meeting(course, late_after_minutes=2)
    sweep(at(MONDAY, 8, 55))
    session = NetworkSession.objects.get(course=course)
    join(session, students[0], at(MONDAY, 9, 3))
    sweep(at(MONDAY, 10, 5))
    assert AttendanceRecord.objects.get(student=students[0]).status == "late"


def test_a_cancelled_class_does_not_open(course, make_meeting, lecturer):
    meeting = make_meeting(course)
    meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, reason="Ill", now=at(MONDAY, 7))
    assert not sweep(at(MONDAY, 8, 55)).jobs
    assert not NetworkSession.objects.exists()


def test_a_holiday_is_skipped(course, make_meeting):
    make_meeting(course)
    Closure.objects.create(name="Half term", starts_on=MONDAY, ends_on=MONDAY + timedelta(days=4))
    assert not sweep(at(MONDAY, 9, 0)).jobs
    assert sweep(at(MONDAY + timedelta(days=7), 9, 0)).jobs == {"classes_opened": 1}


def test_a_class_missed_while_the_sweeper_was_down_is_not_opened_afterwards(course, make_meeting):
    make_meeting(course)
    assert not sweep(at(MONDAY, 10, 0)).jobs
    assert not NetworkSession.objects.exists()


def test_a_session_started_by_hand_is_taken_over_with_the_scheduled_start(
    course, students, make_meeting, lecturer
):
    make_meeting(course)
    manual, _ = start_session(course=course, by=lecturer, now=at(MONDAY, 8, 40))
    assert sweep(at(MONDAY, 8, 55)).jobs == {"classes_opened": 1}
    assert NetworkSession.objects.count() == 1
    manual.refresh_from_db()
    assert manual.scheduled_start == at(MONDAY, 9, 0)
    assert Occurrence.objects.get().session == manual


def test_without_auto_start_nothing_opens_until_the_lecturer_starts_it(
    course, make_meeting, lecturer
):
    make_meeting(course, auto_start=False)
    assert not sweep(at(MONDAY, 8, 55)).jobs
    assert not Occurrence.objects.exists()
    session, _ = start_session(course=course, by=lecturer, now=at(MONDAY, 9, 20))
    sweep(at(MONDAY, 9, 21))
    session.refresh_from_db()
    assert session.scheduled_start == at(MONDAY, 9, 0)
    # It ends on schedule like any class.
    sweep(at(MONDAY, 10, 5))
    session.refresh_from_db()
    assert session.end_reason == "scheduled"


def test_a_class_without_auto_start_whose_session_ended_during_the_tick_is_not_opened(
    course, make_meeting, lecturer
):
    """The tick read the lecturer's session as running; the lecturer ended it before the
    tick took it over. A class that waits for its lecturer is then not opened at all."""
    make_meeting(course, auto_start=False)
    running, _ = start_session(course=course, by=lecturer, now=at(MONDAY, 8, 50))
    [due] = due_classes(now=at(MONDAY, 8, 55))
    end_session(session=running, by=lecturer, now=at(MONDAY, 8, 55))
    assert not open_class(due, now=at(MONDAY, 8, 55), running=running)
    assert not NetworkSession.objects.filter(is_active=True).exists()
    assert not Occurrence.objects.exists()


def test_back_to_back_classes_each_get_their_own_session_and_register(
    course, students, make_meeting
):
    make_meeting(course, at=time(9, 0))
    make_meeting(course, at=time(10, 0))
    sweep(at(MONDAY, 8, 55))
    first = NetworkSession.objects.get()
    assert sweep(at(MONDAY, 9, 55)).jobs == {"classes_opened": 1}
    first.refresh_from_db()
    assert first.end_reason == "scheduled"
    assert AttendanceRecord.objects.filter(session=first).count() == 5
    second = NetworkSession.objects.get(is_active=True)
    assert second.scheduled_start == at(MONDAY, 10, 0)


def test_a_class_ended_early_by_the_lecturer_is_left_alone(course, make_meeting, lecturer):
    make_meeting(course)
    sweep(at(MONDAY, 8, 55))
    session = NetworkSession.objects.get()
    end_session(session=session, by=lecturer, now=at(MONDAY, 9, 40))
    assert not sweep(at(MONDAY, 10, 5)).jobs
    session.refresh_from_db()
    assert session.end_reason == "ended"
    # Nor does it open again.
    assert not sweep(at(MONDAY, 9, 45)).jobs


def test_a_class_just_after_midnight_opens_the_evening_before(course, make_meeting):
    make_meeting(course, weekday=1, at=time(0, 2), minutes=30)
    assert sweep_job(now=at(MONDAY, 23, 57)) == {"classes_opened": 1}
    tuesday = MONDAY + timedelta(days=1)
    assert Occurrence.objects.get().date == tuesday
    # Its session is Tuesday's too (it was dated by its opening, Monday), so a
    # start by hand after midnight finds it rather than making a second session
    # and ending this one's register early.
    session = NetworkSession.objects.get(course=course)
    assert session.date == tuesday
    again, created = start_session(course=course, by=None, now=at(tuesday, 0, 5))
    assert (again.pk, created) == (session.pk, False)
    assert NetworkSession.objects.filter(course=course, is_active=True).count() == 1


def test_a_lecturer_who_starts_just_before_midnight_keeps_that_session(course, make_meeting):
    # Started by hand at 23:50 for the 00:02 class: the sweep takes it over.
    make_meeting(course, weekday=1, at=time(0, 2), minutes=30)
    by_hand, _ = start_session(course=course, by=None, now=at(MONDAY, 23, 50))
    assert sweep_job(now=at(MONDAY, 23, 57)) == {"classes_opened": 1}
    assert list(NetworkSession.objects.filter(is_active=True)) == [by_hand]
    by_hand.refresh_from_db()
    assert by_hand.scheduled_start == at(MONDAY + timedelta(days=1), 0, 2)


def test_editing_a_meeting_never_rewrites_a_class_that_happened(course, make_meeting):
    meeting = make_meeting(course, room="A1")
    sweep(at(MONDAY, 8, 55))
    sweep(at(MONDAY, 10, 5))
    session = NetworkSession.objects.get()
    meetings.meeting_update(meeting=meeting, start_time=time(14, 0), room="B2")
    occurrence = Occurrence.objects.get()
    session.refresh_from_db()
    assert (occurrence.starts_at, occurrence.room) == (at(MONDAY, 9), "A1")
    assert session.scheduled_start == at(MONDAY, 9)
    # The same day is not opened again at the new time.
    assert not sweep(at(MONDAY, 13, 55)).jobs
    # The next week follows the new time.
    assert sweep(at(MONDAY + timedelta(days=7), 13, 55)).jobs == {"classes_opened": 1}


def test_removing_a_meeting_keeps_its_classes_and_registers(course, students, make_meeting):
    meeting = make_meeting(course)
    sweep(at(MONDAY, 8, 55))
    sweep(at(MONDAY, 10, 5))
    meetings.meeting_remove(meeting=meeting)
    occurrence = Occurrence.objects.get()
    assert occurrence.meeting is None and occurrence.session is not None
    assert AttendanceRecord.objects.filter(session=occurrence.session).count() == 5
