"""Course registers: every ended session of a course against every enrolled student.

Reads only. The attendance rate counts present and late as attended and leaves
excused sessions out of the count, so an excused absence never lowers a rate.

The page reads a summary first (one row per student: counts and rate, sorted
and paged by the database), then the grid of one month's sessions for the
students of that page, and a chart of those sessions. The CSV streams the
whole grid. Each costs the same number of queries whatever the class size.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Cast, NullIf, TruncMonth
from django.utils import timezone

from attendance.models import AttendanceRecord, Course, NetworkSession, Student

Status = AttendanceRecord.Status
COUNTED = (Status.PRESENT, Status.LATE, Status.ABSENT)
NAME_ORDER = ("last_name", "first_name", "student_number", "pk")
SORTS = {
    "name": [*NAME_ORDER],
    "-name": [f"-{f}" for f in NAME_ORDER],
    "rate": [F("rate").asc(nulls_last=True), *NAME_ORDER],
    "-rate": [F("rate").desc(nulls_last=True), *NAME_ORDER],
    "absent": ["absent", *NAME_ORDER],
    "-absent": ["-absent", *NAME_ORDER],
}


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@dataclass
class RegisterRow:
    """One student of the register: the summary, and the cells of the grid shown.

    `rate` (0 to 1, None without a counted session) is there for templates
    that mark a row, such as students at risk.
    """

    student_id: int
    student_number: str
    first_name: str
    last_name: str
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0
    statuses: list[str] = field(default_factory=list)  # "" where there is no record

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def counted(self) -> int:
        return self.present + self.late + self.absent

    @property
    def rate(self) -> float | None:
        return (self.present + self.late) / self.counted if self.counted else None

    @property
    def percent(self) -> str:
        return "–" if self.rate is None else f"{round(self.rate * 100)}%"


def ended_sessions(course: Course) -> QuerySet[NetworkSession]:
    return NetworkSession.objects.filter(course=course, is_active=False)


def enrolled_students(course: Course) -> QuerySet[Student]:
    return Student.objects.filter(enrollments__course=course, is_active=True)


@dataclass(frozen=True)
class Month:
    starts_on: date
    sessions: int

    @property
    def key(self) -> str:
        return self.starts_on.strftime("%Y-%m")


def register_months(*, course: Course) -> list[Month]:
    """Each month with ended sessions and how many, oldest first (one query)."""
    rows = (
        ended_sessions(course)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    return [Month(starts_on=month, sessions=n) for month, n in rows]


def summary(*, course: Course, sort: str = "name") -> QuerySet:
    """Each enrolled student's counts over the course's ended sessions, as value rows.

    Sorted (SORTS) and sliced by the database, so a page of it is one query.
    """
    records = Q(
        attendance_records__session__course=course,
        attendance_records__session__is_active=False,
    )

    def count(status: str) -> Count:
        return Count("attendance_records", filter=records & Q(attendance_records__status=status))

    counted = F("present") + F("late") + F("absent")
    return (
        enrolled_students(course)
        .annotate(
            present=count(Status.PRESENT),
            late=count(Status.LATE),
            absent=count(Status.ABSENT),
            excused=count(Status.EXCUSED),
        )
        .annotate(
            rate=Case(
                When(Q(present=0, late=0, absent=0), then=Value(None)),
                default=Cast(F("present") + F("late"), FloatField())
                / Cast(NullIf(counted, 0), FloatField()),
                output_field=FloatField(),
            )
        )
        .order_by(*SORTS.get(sort, SORTS["name"]))
        .values(
            "pk",
            "student_number",
            "first_name",
            "last_name",
            "present",
            "late",
            "absent",
            "excused",
        )
    )


def rows_of(values: list[dict]) -> list[RegisterRow]:
    return [
        RegisterRow(
            student_id=v["pk"],
            student_number=v["student_number"],
            first_name=v["first_name"],
            last_name=v["last_name"],
            present=v["present"],
            late=v["late"],
            absent=v["absent"],
            excused=v["excused"],
        )
        for v in values
    ]


def month_sessions(*, course: Course, month: date) -> list[NetworkSession]:
    """The ended sessions of one month, in time order (one query)."""
    after = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return list(
        ended_sessions(course).filter(date__gte=month, date__lt=after).order_by("started_at", "pk")
    )


def fill_grid(*, rows: list[RegisterRow], sessions: list[NetworkSession]) -> None:
    """Set each row's statuses for these sessions (one query for the whole page)."""
    if not rows or not sessions:
        return
    marks = {
        (student_id, session_id): status
        for student_id, session_id, status in AttendanceRecord.objects.filter(
            session__in=[s.pk for s in sessions], student__in=[r.student_id for r in rows]
        ).values_list("student_id", "session_id", "status")
    }
    for row in rows:
        row.statuses = [marks.get((row.student_id, s.pk), "") for s in sessions]


@dataclass
class Segment:
    status: str
    count: int
    y: float
    height: float


@dataclass
class SessionBar:
    session: NetworkSession
    counts: dict[str, int]
    x: float
    cx: float
    segments: list[Segment]

    @property
    def label_y(self) -> float:
        top = self.segments[-1].y if self.segments else PLOT_BOTTOM
        return round(top - 4, 1)

    @property
    def attended(self) -> int:
        return self.counts[Status.PRESENT] + self.counts[Status.LATE]

    @property
    def recorded(self) -> int:
        return sum(self.counts.values())


@dataclass
class SessionChart:
    bars: list[SessionBar]
    width: int
    height: int
    bar_width: float
    baseline: float
    label_y: float


BAR_STEP, CHART_HEIGHT, PLOT_TOP, PLOT_BOTTOM = 40, 150, 18, 120
STACK = (Status.PRESENT, Status.LATE, Status.EXCUSED, Status.ABSENT)  # bottom to top


def session_chart(*, sessions: list[NetworkSession]) -> SessionChart:
    """Each session's present, late, excused and absent records, stacked, for an SVG
    laid out here (one query)."""
    counts = {s.pk: dict.fromkeys(Status.values, 0) for s in sessions}
    rows = (
        AttendanceRecord.objects.filter(session__in=list(counts))
        .order_by()
        .values_list("session_id", "status")
        .annotate(n=Count("pk"))
    )
    for session_id, status, n in rows:
        counts[session_id][status] = n
    tallest = max((sum(c.values()) for c in counts.values()), default=0) or 1
    bar_width = BAR_STEP * 0.6
    bars = []
    for index, session in enumerate(sessions):
        x = index * BAR_STEP + (BAR_STEP - bar_width) / 2
        top = float(PLOT_BOTTOM)
        segments = []
        for status in STACK:
            n = counts[session.pk][status]
            height = n / tallest * (PLOT_BOTTOM - PLOT_TOP)
            top -= height
            if n:
                segments.append(Segment(status, n, round(top, 1), round(height, 1)))
        bars.append(
            SessionBar(
                session=session,
                counts=counts[session.pk],
                x=round(x, 1),
                cx=round(x + bar_width / 2, 1),
                segments=segments,
            )
        )
    return SessionChart(
        bars=bars,
        width=max(len(sessions), 1) * BAR_STEP,
        height=CHART_HEIGHT,
        bar_width=round(bar_width, 1),
        baseline=PLOT_BOTTOM,
        label_y=PLOT_BOTTOM + 16,
    )


def register_csv(*, course: Course) -> tuple[list[str], Iterator[list]]:
    """The whole grid: a header, then one row per student, read as it is written.

    Students and their records come from two cursors in the same order and are
    merged here, so memory holds one student's row at a time (three queries).
    """
    sessions = list(ended_sessions(course).order_by("started_at", "pk"))
    column = {s.pk: i for i, s in enumerate(sessions)}
    header = (
        ["Student number", "Name"]
        + [timezone.localtime(s.started_at).strftime("%Y-%m-%d %H:%M") for s in sessions]
        + ["Present", "Late", "Absent", "Excused", "Attendance %"]
    )
    students = enrolled_students(course).order_by(*NAME_ORDER)
    records = (
        AttendanceRecord.objects.filter(
            session__in=ended_sessions(course), student__in=students.values("pk")
        )
        .order_by(*(f"student__{f}" for f in NAME_ORDER[:3]), "student_id")
        .values_list("student_id", "session_id", "status")
    )

    def rows() -> Iterator[list]:
        pending = iter(records.iterator(chunk_size=2000))
        record = next(pending, None)
        people = students.values_list("pk", "student_number", "first_name", "last_name")
        for pk, number, first, last in people.iterator(chunk_size=2000):
            row = RegisterRow(
                student_id=pk, student_number=number, first_name=first, last_name=last
            )
            statuses = [""] * len(sessions)
            while record is not None and record[0] == pk:
                _student, session_id, status = record
                statuses[column[session_id]] = status
                setattr(row, status, getattr(row, status) + 1)
                record = next(pending, None)
            rate = "" if row.rate is None else round(row.rate * 100)
            yield [
                number,
                row.name,
                *statuses,
                row.present,
                row.late,
                row.absent,
                row.excused,
                rate,
            ]

    return header, rows()
