"""Course registers: every ended session of a course against every enrolled student.

Reads only. The attendance rate counts present and late as attended and leaves
excused sessions out of the count, so an excused absence never lowers a rate.
"""

from collections import Counter
from dataclasses import dataclass, field

from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession, Student

Status = AttendanceRecord.Status
# The course register's chart: attended first, absent last.
CHART_ORDER = (Status.PRESENT, Status.LATE, Status.EXCUSED, Status.ABSENT)


@dataclass
class StudentRow:
    student: Student
    statuses: list[str]  # one per session, "" where the student has no record
    totals: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float | None:
        counted = (
            self.totals[Status.PRESENT] + self.totals[Status.LATE] + self.totals[Status.ABSENT]
        )
        if not counted:
            return None
        return (self.totals[Status.PRESENT] + self.totals[Status.LATE]) / counted

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


@dataclass
class SessionColumn:
    session: NetworkSession
    totals: Counter = field(default_factory=Counter)

    @property
    def shares(self) -> dict[str, int]:
        """Percentage of this session's records in each status, for the chart."""
        total = sum(self.totals.values())
        return {s: round(100 * self.totals[s] / total) if total else 0 for s in Status.values}

    @property
    def segments(self) -> list[dict]:
        """The chart's bar, left to right: each status's start and width, in percent."""
        shares, start, found = self.shares, 0, []
        for status in CHART_ORDER:
            if shares[status]:
                found.append({"status": status, "start": start, "width": shares[status]})
                start += shares[status]
        return found


@dataclass
class CourseRegister:
    course: Course
    columns: list[SessionColumn]
    rows: list[StudentRow]


def course_register(*, course: Course) -> CourseRegister:
    """The course's register in three queries, whatever the number of students or sessions."""
    sessions = list(
        NetworkSession.objects.filter(course=course, is_active=False).order_by("started_at", "pk")
    )
    students = [
        e.student
        for e in Enrollment.objects.filter(course=course, student__is_active=True)
        .select_related("student")
        .order_by("student__last_name", "student__first_name", "student__student_number")
    ]
    marks = {
        (student_id, session_id): status
        for student_id, session_id, status in AttendanceRecord.objects.filter(
            session__in=[s.pk for s in sessions]
        ).values_list("student_id", "session_id", "status")
    }
    columns = [SessionColumn(session=s) for s in sessions]
    rows = []
    for student in students:
        statuses = [marks.get((student.pk, s.pk), "") for s in sessions]
        row = StudentRow(student=student, statuses=statuses)
        for column, status in zip(columns, statuses, strict=True):
            if status:
                row.totals[status] += 1
                column.totals[status] += 1
        rows.append(row)
    return CourseRegister(course=course, columns=columns, rows=rows)


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
