"""Reads for the report pages: a student's courses, trend and sessions; the at-risk lists.

Each reads the standings (kept with the register, reports/standings.py) or one
student's records, in a fixed number of queries whatever the school's size.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from attendance.models import AttendanceRecord, Course, Student
from payments.selectors import active_term
from reports.models import Standing

AT_RISK_ORDER = (
    "rate",
    "student__last_name",
    "student__first_name",
    "student__student_number",
    "course__code",
    "pk",
)


@dataclass
class CourseLine:
    """One course of a student's report: the standing's counts, zeros without one."""

    course: Course
    standing: Standing | None

    def __getattr__(self, name: str):
        if name in ("held", "present", "late", "absent", "excused", "crossings"):
            return getattr(self.standing, name) if self.standing else 0
        raise AttributeError(name)

    @property
    def percent(self) -> str:
        return self.standing.percent if self.standing else "–"

    @property
    def below(self) -> bool:
        return bool(self.standing and self.standing.below)


def course_lines(*, student: Student, courses: list[Course]) -> list[CourseLine]:
    """Each course with the student's standing in it (one query)."""
    standings = {
        s.course_id: s
        for s in Standing.objects.filter(student=student, course__in=[c.pk for c in courses])
    }
    return [CourseLine(course=c, standing=standings.get(c.pk)) for c in courses]


@dataclass(frozen=True)
class Period:
    """The span the trend covers: the active term, else every record."""

    label: str
    starts_on: date | None = None
    ends_on: date | None = None


def trend_period() -> Period:
    term = active_term()
    if term is None:
        return Period(label="every session")
    return Period(label=str(term), starts_on=term.starts_on, ends_on=term.ends_on)


def trend_records(
    *, student: Student, courses: list[Course], period: Period
) -> list[tuple[int, object, str]]:
    """(course id, session start, status) of the student's records in `period`, in time
    order (one query)."""
    records = AttendanceRecord.objects.filter(
        student=student, session__course__in=[c.pk for c in courses]
    )
    if period.starts_on:
        records = records.filter(
            session__date__gte=period.starts_on, session__date__lte=period.ends_on
        )
    return list(
        records.order_by("session__started_at", "pk").values_list(
            "session__course_id", "session__started_at", "status"
        )
    )


def student_records(*, student: Student, courses: list[Course]) -> QuerySet[AttendanceRecord]:
    """The student's records in these courses, newest first, for the paged session list."""
    return (
        AttendanceRecord.objects.filter(
            student=student, session__course__in=[c.pk for c in courses]
        )
        .select_related("session__course")
        .order_by("-session__started_at", "-pk")
    )


def at_risk(*, courses: QuerySet[Course] | None = None) -> QuerySet[Standing]:
    """Standings below their course's threshold, lowest rate first, then by name.

    `courses` narrows to those courses (a lecturer's); None: every course.
    Active students only: one who left is no longer at risk of anything.
    """
    standings = Standing.objects.filter(below=True, student__is_active=True)
    if courses is not None:
        standings = standings.filter(course__in=courses)
    return standings.select_related("student", "course").order_by(*AT_RISK_ORDER)


EXPORT_HEADER = [
    "Course",
    "Student number",
    "First name",
    "Last name",
    "Attendance %",
    "Present",
    "Late",
    "Absent",
    "Excused",
    "Sessions held",
    "Warning threshold %",
    "Times below",
]


def at_risk_rows(standings: QuerySet[Standing]) -> Iterator[tuple]:
    """The export's rows, as values read through a cursor (one query)."""
    rows = standings.values_list(
        "course__code",
        "student__student_number",
        "student__first_name",
        "student__last_name",
        "rate",
        "present",
        "late",
        "absent",
        "excused",
        "held",
        "course__warn_below_percent",
        "crossings",
    )
    for row in rows.iterator(chunk_size=2000):
        rate = row[4]
        yield (*row[:4], None if rate is None else round(rate * 100, 1), *row[5:])
