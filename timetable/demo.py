"""The timetable part of the demo school: each course's weekly classes and a short break.

Idempotent: a course that already has meetings in the demo term keeps them,
and the break is looked up by name. `manage.py seed_demo` runs it after the
fees part, which makes the term.
"""

from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from attendance.models import Course
from payments.demo import TERM_NAME, TERM_YEAR
from payments.models import Term
from timetable import meetings
from timetable.models import Closure, Meeting

# course code: (weekday, start, minutes, room), ...
WEEKLY = {
    "MATH101": [(0, time(9, 0), 60, "A1"), (2, time(9, 0), 60, "A1"), (4, time(9, 0), 60, "A1")],
    "PHYS110": [(1, time(10, 30), 90, "Lab 2"), (3, time(10, 30), 90, "Lab 2")],
    "HIST210": [(0, time(14, 0), 60, "B4"), (3, time(14, 0), 60, "B4")],
    "ECON120": [(2, time(11, 0), 60, "C1")],
}
BREAK_NAME = "Mid-term break"


def seed_timetable(*, stdout=None) -> None:
    term = Term.objects.filter(name=TERM_NAME, year=TERM_YEAR).first()
    if term is None:
        return
    made = 0
    with transaction.atomic():
        for course in Course.objects.filter(code__in=WEEKLY):
            if Meeting.objects.filter(course=course, term=term).exists():
                continue
            for weekday, start, minutes, room in WEEKLY[course.code]:
                meetings.meeting_create(
                    course=course,
                    term=term,
                    weekday=weekday,
                    start_time=start,
                    duration_minutes=minutes,
                    room=room,
                )
                made += 1
        # Two weeks on, three days: the sweep opens nothing then.
        starts = timezone.localdate() + timedelta(days=14)
        if starts + timedelta(days=2) <= term.ends_on:
            Closure.objects.get_or_create(
                name=BREAK_NAME,
                defaults={"starts_on": starts, "ends_on": starts + timedelta(days=2)},
            )
    if stdout is not None:
        stdout.write(
            f"Timetable: {made} weekly meeting(s) made; classes open by themselves "
            "5 minutes before they start (see /timetable/)."
        )
