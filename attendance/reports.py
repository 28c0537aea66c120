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

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from attendance.models import AttendanceRecord, Course, NetworkSession, Student

Status = AttendanceRecord.Status
COUNTED = (Status.PRESENT, Status.LATE, Status.ABSENT)
NAME_ORDER = ("last_name", "first_name", "student_number", "pk")
SORTS = ("name", "-name", "rate", "-rate", "absent", "-absent")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula, also one behind spaces
    (a spreadsheet that trims cells would read " =1+2" as one)."""
    if value[:1] in FORMULA_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return f"'{value}"
    return value


def below_threshold(
    *, present: int, late: int, absent: int, warn_below_percent: int, warn_after_sessions: int
) -> bool:
    """At risk: enough counted sessions (`warn_after_sessions`) and a rate below
    `warn_below_percent`. Integer arithmetic, so 75% of 4 sessions is exactly 3."""
    counted = present + late + absent
    return (
        counted > 0
        and counted >= warn_after_sessions
        and (present + late) * 100 < warn_below_percent * counted
    )


@dataclass
class RegisterRow:
    """One student of the register: the summary, and the cells of the grid shown.

    `rate` (0 to 1, None without a counted session) is there for templates
    that mark a row; `at_risk` says it is below the course's warning threshold.
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
    at_risk: bool = False

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


def summary(*, course: Course, sort: str = "name") -> list[RegisterRow]:
    """Each enrolled student's counts over the course's ended sessions, sorted (two queries).

    The counts are one grouped query over the course's records; students come
    in name order and are sorted here (SORTS), a class being hundreds at most.
    """
    counts: dict[int, dict[str, int]] = {}
    grouped = (
        AttendanceRecord.objects.filter(session__in=ended_sessions(course))
        .order_by()
        .values_list("student_id", "status")
        .annotate(n=Count("pk"))
    )
    for student_id, status, n in grouped:
        counts.setdefault(student_id, {})[status] = n
    rows = [
        RegisterRow(
            student_id=pk,
            student_number=number,
            first_name=first,
            last_name=last,
            **counts.get(pk, {}),
        )
        for pk, number, first, last in enrolled_students(course)
        .order_by(*NAME_ORDER)
        .values_list("pk", "student_number", "first_name", "last_name")
    ]
    for row in rows:
        row.at_risk = below_threshold(
            present=row.present,
            late=row.late,
            absent=row.absent,
            warn_below_percent=course.warn_below_percent,
            warn_after_sessions=course.warn_after_sessions,
        )
    return sort_rows(rows, sort=sort)


def sort_rows(rows: list[RegisterRow], *, sort: str) -> list[RegisterRow]:
    """`rows` (in name order) sorted by `sort`; names break ties, no rate sorts last."""
    if sort == "-name":
        return rows[::-1]
    if sort in ("rate", "-rate"):
        rated = [r for r in rows if r.rate is not None]
        rated.sort(key=lambda r: r.rate, reverse=sort == "-rate")
        return rated + [r for r in rows if r.rate is None]
    if sort in ("absent", "-absent"):
        return sorted(rows, key=lambda r: r.absent, reverse=sort == "-absent")
    return rows


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

    @property
    def has_room(self) -> bool:
        """Tall enough to carry its count written inside (11px text)."""
        return self.height >= 13

    @property
    def label_y(self) -> float:
        return round(self.y + self.height / 2 + 4, 1)


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
CHART_LEGEND = [(status.value, status.label) for status in STACK]


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
    """The whole grid: a header, then one row per student, written as they are read.

    The course's records are read once into a map (a course's, not the
    school's: 18,000 for 300 students and 60 sessions); the students stream in
    name order through a cursor. Three queries whatever the size.
    """
    sessions = list(ended_sessions(course).order_by("started_at", "pk"))
    column = {s.pk: i for i, s in enumerate(sessions)}
    header = [
        "Student number",
        "Name",
        *(timezone.localtime(s.started_at).strftime("%Y-%m-%d %H:%M") for s in sessions),
        "Present",
        "Late",
        "Absent",
        "Excused",
        "Attendance %",
    ]
    students = enrolled_students(course).order_by(*NAME_ORDER)

    def rows() -> Iterator[list]:
        marks: dict[int, list[tuple[int, str]]] = {}
        records = AttendanceRecord.objects.filter(session__in=[s.pk for s in sessions])
        for student_id, session_id, status in records.values_list(
            "student_id", "session_id", "status"
        ):
            marks.setdefault(student_id, []).append((column[session_id], status))
        people = students.values_list("pk", "student_number", "first_name", "last_name")
        for pk, number, first, last in people.iterator(chunk_size=2000):
            row = RegisterRow(
                student_id=pk, student_number=number, first_name=first, last_name=last
            )
            statuses = [""] * len(sessions)
            for index, status in marks.get(pk, ()):
                statuses[index] = status
                setattr(row, status, getattr(row, status) + 1)
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
