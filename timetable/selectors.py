"""Reads of the timetable for pages, the API and the calendar feed.

Each read is three queries whatever the number of courses, meetings or days
(meetings, occurrences, closures); schedule.plan lays them out.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from attendance.models import Course
from timetable.models import Closure, Meeting, Occurrence
from timetable.schedule import PlannedClass, Status, local_date, plan, week_start

# How far ahead "next class" looks: past the longest school holiday.
NEXT_CLASS_HORIZON_DAYS = 120


def own_courses(user: AbstractBaseUser) -> QuerySet[Course]:
    """The courses in a user's own week: those they teach, and those they are enrolled in."""
    if not user.is_authenticated:
        return Course.objects.none()
    return Course.objects.filter(
        Q(lecturers=user) | Q(enrollments__student__user=user, enrollments__student__is_active=True)
    ).distinct()


def classes_between(
    *, courses: QuerySet[Course], start: date, end: date, now: datetime
) -> list[PlannedClass]:
    """Every class of `courses` from `start` to `end` (inclusive), in time order."""
    course_ids = courses.values("pk")
    meetings = Meeting.objects.filter(
        course__in=course_ids, valid_from__lte=end, valid_to__gte=start
    ).select_related("course")
    occurrences = Occurrence.objects.filter(
        course__in=course_ids, date__gte=start, date__lte=end
    ).select_related("course", "session", "meeting")
    closures = list(Closure.objects.filter(starts_on__lte=end, ends_on__gte=start))
    return plan(
        meetings=meetings,
        occurrences=list(occurrences),
        closures=closures,
        start=start,
        end=end,
        now=now,
    )


@dataclass(frozen=True)
class Week:
    start: date
    classes: list[PlannedClass]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def previous(self) -> date:
        return self.start - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def days(self) -> list[tuple[date, list[PlannedClass]]]:
        """Monday to Sunday, each with its classes (the weekend only when it has any)."""
        by_day = {self.start + timedelta(days=i): [] for i in range(7)}
        for planned in self.classes:
            by_day[planned.date].append(planned)
        return [(day, classes) for day, classes in by_day.items() if day.weekday() < 5 or classes]


def week_of(*, courses: QuerySet[Course], day: date, now: datetime) -> Week:
    start = week_start(day)
    return Week(
        start=start,
        classes=classes_between(
            courses=courses, start=start, end=start + timedelta(days=6), now=now
        ),
    )


# Looked through in growing windows: usually the first has it, and a school's
# timetable for four months is not laid out for one answer.
NEXT_CLASS_WINDOWS = [(0, 0), (1, 7), (8, 35), (36, NEXT_CLASS_HORIZON_DAYS)]


def next_class(
    *, courses: QuerySet[Course], now: datetime, today_classes: list[PlannedClass] | None = None
) -> PlannedClass | None:
    """The class running now, else the next one to come (not cancelled or closed).

    `today_classes`, when the caller has them already, saves reading today again.
    """
    today = local_date(now)
    for first, last in NEXT_CLASS_WINDOWS:
        if first == 0 and today_classes is not None:
            classes = today_classes
        else:
            classes = classes_between(
                courses=courses,
                start=today + timedelta(days=first),
                end=today + timedelta(days=last),
                now=now,
            )
        for planned in classes:
            if planned.status in (Status.RUNNING, Status.UPCOMING):
                return planned
    return None
