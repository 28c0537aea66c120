"""Builders shared by the timetable's tests and the API's: a term, a meeting, a local time.

Dates are fixed (the week of Monday 2 March 2026, and the British clock
change on Sunday 29 March 2026), so the tests travel in time to them.
"""

from datetime import date, datetime, time
from decimal import Decimal

from payments.models import Term
from timetable import meetings
from timetable.models import Meeting
from timetable.schedule import local_datetime

MONDAY = date(2026, 3, 2)


def spring_term() -> Term:
    return make_term("Spring Term", date(2026, 1, 5), date(2026, 4, 24), due_on=date(2026, 2, 1))


def make_term(name: str, starts_on: date, ends_on: date, *, due_on: date) -> Term:
    return Term.objects.create(
        name=name,
        year=starts_on.year,
        starts_on=starts_on,
        ends_on=ends_on,
        fee=Decimal("120.00"),
        due_on=due_on,
    )


def new_meeting(course, term, weekday=0, at=time(9, 0), minutes=60, **kwargs) -> Meeting:
    meeting, _warnings = meetings.meeting_create(
        course=course,
        term=term,
        weekday=weekday,
        start_time=at,
        duration_minutes=minutes,
        **kwargs,
    )
    return meeting


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """The school's local time `hour:minute` on `day`, as an aware datetime."""
    return local_datetime(day, time(hour, minute))
