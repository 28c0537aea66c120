"""Dates and times of classes: the school's local time, and meetings laid out over days.

No database access here: selectors.py reads the rows, this module turns them
into dated classes. Times are the school's wall-clock time in
settings.TIME_ZONE, turned into aware datetimes per date, so a 09:00 Monday
class stays at 09:00 across a daylight-saving change (its UTC time moves).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from attendance.models import Course, NetworkSession
from timetable.models import Closure, Meeting, Occurrence


def school_zone():
    # The school's zone, not the request's active one.
    return timezone.get_default_timezone()


def local_datetime(day: date, at: time) -> datetime:
    """`at` on `day` in the school's zone. A time skipped by a clock change counts
    with the offset before the change (02:30 on a spring-forward night is 03:30),
    and is given as the time it is (03:30), not as one that never happens."""
    zone = school_zone()
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def real_time_after(moment: datetime, delta: timedelta) -> datetime:
    """`delta` of real time after `moment` (before it, for a negative one), in the
    school's zone. Arithmetic on a zone-aware datetime counts wall-clock time: five
    minutes before 03:00 on a spring-forward morning would be 02:55, a time that
    does not exist and means 03:55, and a class across a clock change would not
    last its minutes."""
    return timezone.localtime(moment.astimezone(UTC) + delta, school_zone())


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment, school_zone()).date()


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def open_lead() -> timedelta:
    return timedelta(minutes=settings.TIMETABLE_OPEN_LEAD_MINUTES)


def end_grace() -> timedelta:
    return timedelta(minutes=settings.TIMETABLE_END_GRACE_MINUTES)


def meeting_times(meeting: Meeting, day: date) -> tuple[datetime, datetime]:
    starts_at = local_datetime(day, meeting.start_time)
    return starts_at, real_time_after(starts_at, timedelta(minutes=meeting.duration_minutes))


def meeting_days(meeting: Meeting, start: date, end: date) -> Iterable[date]:
    """The days between `start` and `end` (inclusive) on which `meeting` is timetabled."""
    first = max(start, meeting.valid_from)
    last = min(end, meeting.valid_to)
    day = first + timedelta(days=(meeting.weekday - first.weekday()) % 7)
    while day <= last:
        yield day
        day += timedelta(days=7)


def closure_on(closures: list[Closure], day: date) -> Closure | None:
    for closure in closures:
        if closure.starts_on <= day <= closure.ends_on:
            return closure
    return None


class Status:
    UPCOMING = "upcoming"  # not opened yet
    RUNNING = "running"  # its session is open
    HELD = "held"  # its session ended
    MISSED = "missed"  # over, and never opened (auto_start off, nobody started it)
    CANCELLED = "cancelled"
    CLOSED = "closed"  # a closure (holiday) falls on it


@dataclass(frozen=True)
class PlannedClass:
    """One dated class: from its occurrence when it has one (what happened), else its meeting."""

    course: Course
    date: date
    starts_at: datetime
    ends_at: datetime
    room: str
    status: str
    meeting: Meeting | None = None
    occurrence: Occurrence | None = None
    closure: Closure | None = None

    @property
    def auto_start(self) -> bool:
        return self.meeting is not None and self.meeting.auto_start

    @property
    def across_a_clock_change(self) -> bool:
        """The clocks change during it: "00:30-01:00" on an autumn night is 90 minutes,
        so its times are shown with their zone ("00:30 BST-01:00 GMT")."""
        return self.starts_at.utcoffset() != self.ends_at.utcoffset()

    @property
    def zones(self) -> tuple[str, str]:
        """The zone names of its start and end ("BST", "GMT"). Django's date formats leave
        them out for a time in the repeated hour, which is just when they are needed."""
        return self.starts_at.tzname() or "", self.ends_at.tzname() or ""

    @property
    def opens_at(self) -> datetime:
        return real_time_after(self.starts_at, -open_lead())

    @property
    def session(self) -> NetworkSession | None:
        return self.occurrence.session if self.occurrence is not None else None

    @property
    def meeting_id(self) -> int | None:
        return self.meeting.pk if self.meeting is not None else None

    @property
    def key(self) -> str:
        """Stable across edits of the meeting: its id and the date (the calendar's UID)."""
        if self.meeting is not None:
            return f"meeting-{self.meeting.pk}-{self.date.isoformat()}"
        return f"occurrence-{self.occurrence.pk}"

    @property
    def can_cancel(self) -> bool:
        return self.status == Status.UPCOMING and self.meeting is not None

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.starts_at, school_zone())

    @property
    def local_end(self) -> datetime:
        return timezone.localtime(self.ends_at, school_zone())


def _from_occurrence(occurrence: Occurrence, meeting: Meeting | None) -> PlannedClass:
    if occurrence.status == Occurrence.Status.CANCELLED:
        status = Status.CANCELLED
    elif occurrence.session is not None and occurrence.session.is_active:
        status = Status.RUNNING
    else:
        status = Status.HELD
    return PlannedClass(
        course=occurrence.course,
        date=occurrence.date,
        starts_at=occurrence.starts_at,
        ends_at=occurrence.ends_at,
        room=occurrence.room,
        status=status,
        meeting=meeting,
        occurrence=occurrence,
    )


def plan(
    *,
    meetings: Iterable[Meeting],
    occurrences: Iterable[Occurrence],
    closures: list[Closure],
    start: date,
    end: date,
    now: datetime,
) -> list[PlannedClass]:
    """Every class between `start` and `end` (inclusive), in time order.

    A day that has an occurrence shows the occurrence (its own time and room:
    what was opened or cancelled), whatever the meeting says now; classes of
    removed or since-edited meetings still appear from their occurrences.
    """
    by_day = {(o.meeting_id, o.date): o for o in occurrences if o.meeting_id is not None}
    leftover = [o for o in occurrences if o.meeting_id is None]
    classes = []
    for meeting in meetings:
        for day in meeting_days(meeting, start, end):
            occurrence = by_day.pop((meeting.pk, day), None)
            if occurrence is not None:
                classes.append(_from_occurrence(occurrence, meeting))
                continue
            starts_at, ends_at = meeting_times(meeting, day)
            closure = closure_on(closures, day)
            if closure is not None:
                status = Status.CLOSED
            elif now < ends_at:
                status = Status.UPCOMING
            else:
                status = Status.MISSED
            classes.append(
                PlannedClass(
                    course=meeting.course,
                    date=day,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    room=meeting.room,
                    status=status,
                    meeting=meeting,
                    closure=closure,
                )
            )
    # Occurrences whose meeting moved off that day (or is gone) are still history.
    for occurrence in [*by_day.values(), *leftover]:
        if start <= occurrence.date <= end:
            classes.append(_from_occurrence(occurrence, occurrence.meeting))
    classes.sort(key=lambda c: (c.starts_at, c.course.code))
    return classes
