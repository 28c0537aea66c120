"""What a course's registers add up to: the figures behind the analytics page.

Reads only, each a grouped query the database answers, so a figure costs the
same number of queries whatever the class size or the number of sessions:

- the attendance rate of each ended session (present and late over present,
  late and absent; excused records are left out, as in the register);
- how many minutes after the class's start each device-recorded arrival came
  (the first join against the timetabled start, else the session's opening),
  counted into bins;
- the rate by local weekday and hour of the classes' start, for a heat map;
- how many devices were connected in a session, minute by minute.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, TruncMinute
from django.utils import timezone

from attendance.models import AttendanceRecord, ConnectedDevice, Course, NetworkSession
from payments.models import Term

Status = AttendanceRecord.Status
ATTENDED_STATUSES = [Status.PRESENT, Status.LATE]
COUNTED_STATUSES = [Status.PRESENT, Status.LATE, Status.ABSENT]


def rate_of(attended: int, counted: int) -> float | None:
    """Attended over counted, 0 to 1; None when nothing was counted."""
    return attended / counted if counted else None


def class_start(prefix: str = "") -> Coalesce:
    """When a class began for lateness: its timetabled start, else when the session opened."""
    return Coalesce(
        F(f"{prefix}scheduled_start"), F(f"{prefix}started_at"), output_field=DateTimeField()
    )


# --- which sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The span of sessions the page shows: a term's dates, or every ended session."""

    term: Term | None
    starts_on: date | None = None
    ends_on: date | None = None

    @property
    def label(self) -> str:
        return str(self.term) if self.term else "all sessions"


def period_for(*, everything: bool = False) -> Period:
    """The active term (one query), unless every session is asked for or there is none."""
    if everything:
        return Period(term=None)
    term = Term.objects.filter(is_active=True).first()
    if term is None:
        return Period(term=None)
    return Period(term=term, starts_on=term.starts_on, ends_on=term.ends_on)


def ended_sessions(*, course: Course, period: Period) -> QuerySet[NetworkSession]:
    sessions = NetworkSession.objects.filter(course=course, is_active=False)
    if period.starts_on is not None:
        sessions = sessions.filter(date__gte=period.starts_on, date__lte=period.ends_on)
    return sessions


# --- (1) the rate of each session ------------------------------------------------------------


@dataclass(frozen=True)
class SessionRate:
    session_id: int
    started_at: datetime
    present: int
    late: int
    absent: int
    excused: int

    @property
    def attended(self) -> int:
        return self.present + self.late

    @property
    def counted(self) -> int:
        return self.present + self.late + self.absent

    @property
    def rate(self) -> float | None:
        return rate_of(self.attended, self.counted)


def session_rates(*, course: Course, period: Period) -> list[SessionRate]:
    """Each ended session's counts, oldest first (one grouped query)."""
    rows = (
        ended_sessions(course=course, period=period)
        .order_by("started_at", "pk")
        .annotate(
            n_present=Count("records", filter=Q(records__status=Status.PRESENT)),
            n_late=Count("records", filter=Q(records__status=Status.LATE)),
            n_absent=Count("records", filter=Q(records__status=Status.ABSENT)),
            n_excused=Count("records", filter=Q(records__status=Status.EXCUSED)),
        )
        .values_list("pk", "started_at", "n_present", "n_late", "n_absent", "n_excused")
    )
    return [SessionRate(*row) for row in rows]


# --- (2) arrival minutes ---------------------------------------------------------------------

# Bins of minutes after the start: (label, upper bound in minutes, exclusive); None: no bound.
ARRIVAL_BINS: tuple[tuple[str, int | None], ...] = (
    ("early", 0),
    ("0–5", 5),
    ("5–10", 10),
    ("10–15", 15),
    ("15–20", 20),
    ("20–30", 30),
    ("30–45", 45),
    ("45–60", 60),
    ("60+", None),
)


@dataclass(frozen=True)
class ArrivalBin:
    label: str
    count: int


def arrival_histogram(*, course: Course, period: Period) -> list[ArrivalBin]:
    """How many first joins came in each bin of minutes after the class's start.

    Only records with a first join (a device's arrival) count; a status set by
    hand without one has no arrival time. One grouped query: the database
    works out each delay and its bin.
    """
    delay = ExpressionWrapper(F("first_seen") - class_start("session__"), DurationField())
    whens = [
        When(delay__lt=timedelta(minutes=bound), then=Value(index))
        for index, (_label, bound) in enumerate(ARRIVAL_BINS)
        if bound is not None
    ]
    rows = (
        AttendanceRecord.objects.filter(
            session__in=ended_sessions(course=course, period=period),
            first_seen__isnull=False,
        )
        .annotate(delay=delay)
        .annotate(
            bin=Case(*whens, default=Value(len(ARRIVAL_BINS) - 1), output_field=IntegerField())
        )
        .order_by()
        .values_list("bin")
        .annotate(n=Count("pk"))
    )
    counts = dict(rows)
    return [ArrivalBin(label, counts.get(i, 0)) for i, (label, _bound) in enumerate(ARRIVAL_BINS)]


# --- (3) weekday by hour ----------------------------------------------------------------------


@dataclass(frozen=True)
class SlotRate:
    weekday: int  # ISO: 1 Monday … 7 Sunday
    hour: int  # local hour of the class's start
    sessions: int
    attended: int
    counted: int

    @property
    def rate(self) -> float | None:
        return rate_of(self.attended, self.counted)


def weekday_hour_rates(*, course: Course, period: Period) -> list[SlotRate]:
    """The rate over the sessions starting in each local weekday and hour (one grouped query).

    Extract uses the current time zone, which is the school's (TIME_ZONE): a
    09:00 class stays in the 9 o'clock column across a daylight-saving change.
    """
    zone = timezone.get_default_timezone()
    start = class_start()
    rows = (
        ended_sessions(course=course, period=period)
        .annotate(
            weekday=ExtractIsoWeekDay(start, tzinfo=zone),
            hour=ExtractHour(start, tzinfo=zone),
        )
        .order_by()
        .values_list("weekday", "hour")
        .annotate(
            n_sessions=Count("pk", distinct=True),
            n_attended=Count("records", filter=Q(records__status__in=ATTENDED_STATUSES)),
            n_counted=Count("records", filter=Q(records__status__in=COUNTED_STATUSES)),
        )
        .order_by("weekday", "hour")
    )
    return [SlotRate(*row) for row in rows]


# --- (4) devices connected over a session ----------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: datetime  # the minute this count begins
    connected: int


def connected_timeline(*, session: NetworkSession) -> list[Step]:
    """Devices connected in the session, minute by minute, from its opening to its end.

    Joins and leaves are each counted per minute by the database (two grouped
    queries, a few hundred rows at most); the running total is the step chart.
    A device still connected counts until the session's end (or now, while it runs).
    Minutes are cut in UTC: in local time the two 01:30s of an autumn night are one.
    """
    rows = ConnectedDevice.objects.filter(session=session).order_by()
    joins = dict(
        rows.annotate(m=TruncMinute("connected_at", tzinfo=UTC))
        .values_list("m")
        .annotate(n=Count("pk"))
        .values_list("m", "n")
    )
    leaves = dict(
        rows.filter(disconnected_at__isnull=False)
        .annotate(m=TruncMinute("disconnected_at", tzinfo=UTC))
        .values_list("m")
        .annotate(n=Count("pk"))
        .values_list("m", "n")
    )
    if not joins:
        return []
    opened = session.started_at.replace(second=0, microsecond=0)
    closed = session.ended_at or timezone.now()
    steps = [Step(opened, 0)] if opened < min(joins) else []
    total = 0
    for minute in sorted(set(joins) | set(leaves)):
        total += joins.get(minute, 0) - leaves.get(minute, 0)
        steps.append(Step(minute, max(total, 0)))
    if steps[-1].at < closed:
        steps.append(Step(closed, steps[-1].connected))
    return steps
