"""Making, changing, cancelling and copying meetings: bad input is refused and saves nothing."""

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from payments.models import Term
from timetable import meetings
from timetable.meetings import TimetableError
from timetable.models import Meeting, Occurrence
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db


def test_a_meeting_is_valid_for_its_whole_term_unless_narrowed(course, make_meeting, term):
    meeting = make_meeting(course, weekday=2, at=time(11, 0), minutes=90, room="B2")
    assert (meeting.valid_from, meeting.valid_to) == (term.starts_on, term.ends_on)
    assert str(meeting) == "MATH101 Wednesday 11:00 (90 min)"


def test_a_course_may_meet_twice_a_day(course, make_meeting):
    make_meeting(course, at=time(9, 0))
    make_meeting(course, at=time(14, 0))
    assert Meeting.objects.filter(course=course).count() == 2


@pytest.mark.parametrize(
    ("at_", "minutes"),
    [(time(9, 0), 60), (time(9, 30), 60), (time(8, 30), 45), (time(9, 15), 10)],
)
def test_overlapping_meetings_of_one_course_are_refused(course, make_meeting, at_, minutes):
    make_meeting(course, at=time(9, 0), minutes=60)
    with pytest.raises(TimetableError, match="overlaps MATH101 Monday 09:00–10:00"):
        make_meeting(course, at=at_, minutes=minutes)
    assert Meeting.objects.count() == 1


def test_other_days_and_other_dates_of_the_same_slot_do_not_overlap(course, make_meeting, term):
    make_meeting(course, valid_to=date(2026, 2, 27))
    make_meeting(course, valid_from=date(2026, 3, 2))
    make_meeting(course, weekday=1)
    assert Meeting.objects.count() == 3


def test_an_end_before_the_start_is_refused(course, make_meeting):
    with pytest.raises(TimetableError, match=r"ends .* before it starts"):
        make_meeting(course, valid_from=date(2026, 3, 10), valid_to=date(2026, 3, 1))
    assert not Meeting.objects.exists()


def test_a_meeting_outside_its_term_is_refused(course, make_meeting):
    with pytest.raises(TimetableError, match="inside its term, Spring Term"):
        make_meeting(course, valid_from=date(2026, 4, 1), valid_to=date(2026, 5, 30))
    assert not Meeting.objects.exists()


@pytest.mark.parametrize(
    ("at_", "minutes", "message"),
    [
        (time(9, 0), 0, "at least 5 minutes"),
        (time(9, 0), 400, "at most 230 minutes"),
        (time(23, 0), 90, "end by midnight"),
    ],
)
def test_impossible_lengths_are_refused(course, make_meeting, at_, minutes, message):
    with pytest.raises(TimetableError, match=message):
        make_meeting(course, at=at_, minutes=minutes)
    assert not Meeting.objects.exists()


def test_a_meeting_that_never_meets_is_refused(course, make_meeting):
    # 3 March 2026 is a Tuesday.
    with pytest.raises(TimetableError, match="never meets: there is no Monday"):
        make_meeting(course, valid_from=date(2026, 3, 3), valid_to=date(2026, 3, 3))


def test_a_clash_in_a_lecturers_week_is_a_warning_and_still_saved(
    course, make_meeting, lecturer, term
):
    from attendance.models import Course

    physics = Course.objects.create(code="PHYS110", title="Mechanics")
    physics.lecturers.add(lecturer)
    make_meeting(course)
    meeting, warnings = meetings.meeting_create(
        course=physics, term=term, weekday=0, start_time=time(9, 30), duration_minutes=60
    )
    assert meeting.pk is not None
    assert warnings == [
        "Clash in a lecturer's week: MATH101 also meets Monday 09:00–10:00 (05 Jan – 24 Apr 2026)."
    ]


def test_a_refused_update_changes_nothing(course, make_meeting):
    make_meeting(course, at=time(9, 0))
    later = make_meeting(course, at=time(11, 0))
    with pytest.raises(TimetableError, match="overlaps"):
        meetings.meeting_update(meeting=later, start_time=time(9, 30))
    later.refresh_from_db()
    assert later.start_time == time(11, 0)


def test_an_extra_class_is_a_one_day_meeting(course, make_meeting):
    meeting, _ = meetings.extra_class_create(
        course=course, day=MONDAY, start_time=time(15, 0), duration_minutes=45, now=at(MONDAY, 8)
    )
    assert meeting.is_one_off and meeting.weekday == 0
    with pytest.raises(TimetableError, match="in the past"):
        meetings.extra_class_create(
            course=course,
            day=MONDAY - timedelta(days=1),
            start_time=time(15, 0),
            duration_minutes=45,
            now=at(MONDAY, 8),
        )


def test_an_extra_class_outside_every_term_is_refused(course):
    with pytest.raises(TimetableError, match="No term includes"):
        meetings.extra_class_create(
            course=course, day=date(2026, 8, 3), start_time=time(9), duration_minutes=60,
            now=at(MONDAY, 8),
        )  # fmt: skip


def test_cancelling_is_idempotent_and_refused_once_the_class_opened(course, make_meeting, lecturer):
    meeting = make_meeting(course)
    first = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 7))
    again = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 7))
    assert first.pk == again.pk and first.status == "cancelled"
    tuesday_class = make_meeting(course, weekday=1)
    Occurrence.objects.create(
        meeting=tuesday_class,
        course=course,
        date=MONDAY + timedelta(days=1),
        starts_at=at(MONDAY + timedelta(days=1), 9),
        ends_at=at(MONDAY + timedelta(days=1), 10),
        status="opened",
        created_at=at(MONDAY, 8),
    )
    with pytest.raises(TimetableError, match="already opened"):
        meetings.cancel_class(
            meeting=tuesday_class, day=MONDAY + timedelta(days=1), by=lecturer, now=at(MONDAY, 8)
        )


def test_a_day_without_that_class_or_a_past_class_cannot_be_cancelled(
    course, make_meeting, lecturer
):
    meeting = make_meeting(course)
    with pytest.raises(TimetableError, match="has no class then"):
        meetings.cancel_class(
            meeting=meeting, day=MONDAY + timedelta(days=1), by=lecturer, now=at(MONDAY, 7)
        )
    with pytest.raises(TimetableError, match="is over"):
        meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 11))
    assert not Occurrence.objects.exists()


def test_a_cancellation_can_be_undone_before_the_class(course, make_meeting, lecturer):
    meeting = make_meeting(course)
    cancelled = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 7))
    meetings.restore_class(occurrence=cancelled, now=at(MONDAY, 8))
    assert not Occurrence.objects.exists()


def test_copying_last_terms_timetable(course, make_meeting, term):
    make_meeting(course, at=time(9, 0), room="A1")
    make_meeting(course, weekday=3, at=time(14, 0), late_after_minutes=5, auto_start=False)
    meetings.extra_class_create(
        course=course, day=MONDAY, start_time=time(17), duration_minutes=30, now=at(MONDAY, 8)
    )
    summer = Term.objects.create(
        name="Summer Term", year=2026, starts_on=date(2026, 5, 4), ends_on=date(2026, 7, 17),
        fee=Decimal("120.00"), due_on=date(2026, 6, 1),
    )  # fmt: skip
    assert meetings.previous_term(summer) == term
    result = meetings.copy_timetable(source=term, target=summer)
    assert len(result.copied) == 2 and not result.skipped
    copied = Meeting.objects.filter(term=summer).order_by("weekday")
    assert [(m.weekday, m.start_time, m.room, m.valid_from, m.valid_to) for m in copied] == [
        (0, time(9), "A1", summer.starts_on, summer.ends_on),
        (3, time(14), "", summer.starts_on, summer.ends_on),
    ]
    assert (copied[1].late_after_minutes, copied[1].auto_start) == (5, False)
    # Copying again would overlap the copies: skipped, named, nothing doubled.
    again = meetings.copy_timetable(source=term, target=summer)
    assert not again.copied and len(again.skipped) == 2
    assert Meeting.objects.filter(term=summer).count() == 2


@pytest.mark.postgres
def test_postgresql_itself_refuses_an_overlap_written_around_the_service(course, make_meeting):
    first = make_meeting(course)
    assert connection.vendor == "postgresql"
    with pytest.raises(IntegrityError, match="meeting_no_overlap_in_course"), transaction.atomic():
        Meeting.objects.create(
            course=course,
            term=first.term,
            weekday=0,
            start_time=time(9, 30),
            duration_minutes=30,
            valid_from=first.valid_from,
            valid_to=first.valid_to,
        )
