"""The timetable's rules: making, changing and removing meetings, one-off classes,
cancelling a class, copying a term's timetable.

Bad input raises TimetableError with a sentence for people and changes
nothing. A clash in a lecturer's week is only a warning: returned, not raised
(a lecturer may teach two groups in one room, or a colleague may cover).
Every write of a course's meetings locks the course's row first, so two
concurrent changes are checked one after the other; on PostgreSQL an
exclusion constraint (migration 0002) refuses overlaps from any client.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import Course
from payments.models import Term
from timetable.models import Meeting, Occurrence, Weekday
from timetable.schedule import local_date, meeting_days, meeting_times

MINUTES_PER_DAY = 24 * 60
MAX_LATE_AFTER_MINUTES = 240


class TimetableError(ValueError):
    """Input the timetable refuses; the message says why, for people."""


@dataclass(frozen=True)
class Slot:
    """What a meeting occupies: enough to check it against the rules and its neighbours."""

    weekday: int
    start_time: time
    duration_minutes: int
    valid_from: date
    valid_to: date

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def end_minute(self) -> int:
        return self.start_minute + self.duration_minutes

    def overlaps(self, other: "Slot") -> bool:
        return (
            self.weekday == other.weekday
            and self.valid_from <= other.valid_to
            and other.valid_from <= self.valid_to
            and self.start_minute < other.end_minute
            and other.start_minute < self.end_minute
        )

    def describe(self) -> str:
        end = self.end_minute
        return (
            f"{Weekday(self.weekday).label} {self.start_time:%H:%M}–{end // 60:02d}:{end % 60:02d}"
        )

    @classmethod
    def of(cls, meeting: Meeting) -> "Slot":
        return cls(
            weekday=meeting.weekday,
            start_time=meeting.start_time,
            duration_minutes=meeting.duration_minutes,
            valid_from=meeting.valid_from,
            valid_to=meeting.valid_to,
        )


def _longest_class_minutes() -> int:
    # A session older than ATTENDANCE_SESSION_MAX_HOURS is ended as expired, and
    # a class's session runs from its start minus the lead to its end plus grace.
    return (
        settings.ATTENDANCE_SESSION_MAX_HOURS * 60
        - settings.TIMETABLE_OPEN_LEAD_MINUTES
        - settings.TIMETABLE_END_GRACE_MINUTES
    )


def slot_problems(*, slot: Slot, term: Term | None) -> list[str]:
    """What is wrong with one meeting on its own (its term included); empty if nothing."""
    problems = []
    if slot.weekday not in Weekday.values:
        problems.append("The weekday must be 0 (Monday) to 6 (Sunday).")
    if slot.valid_to < slot.valid_from:
        problems.append(
            f"It ends ({slot.valid_to:%d %b %Y}) before it starts ({slot.valid_from:%d %b %Y})."
        )
    longest = _longest_class_minutes()
    if slot.duration_minutes < 5:
        problems.append("A class lasts at least 5 minutes.")
    elif slot.duration_minutes > longest:
        problems.append(
            f"A class lasts at most {longest} minutes: its session would be ended as expired "
            "(ATTENDANCE_SESSION_MAX_HOURS) before the class ends."
        )
    elif slot.end_minute > MINUTES_PER_DAY:
        problems.append("A class must end by midnight.")
    if term is not None and (slot.valid_from < term.starts_on or slot.valid_to > term.ends_on):
        problems.append(
            f"It must fall inside its term, {term} ({term.starts_on:%d %b %Y} – "
            f"{term.ends_on:%d %b %Y})."
        )
    if not problems and next(iter(_days(slot)), None) is None:
        problems.append(
            f"It never meets: there is no {Weekday(slot.weekday).label} between "
            f"{slot.valid_from:%d %b %Y} and {slot.valid_to:%d %b %Y}."
        )
    return problems


def _days(slot: Slot):
    return meeting_days(
        Meeting(weekday=slot.weekday, valid_from=slot.valid_from, valid_to=slot.valid_to),
        slot.valid_from,
        slot.valid_to,
    )


def overlap_problems(*, slot: Slot, others: list[tuple[str, Slot]]) -> list[str]:
    """The course's other meetings (named) that `slot` overlaps."""
    return [
        f"It overlaps {name} ({other.describe()}, {other.valid_from:%d %b} – "
        f"{other.valid_to:%d %b %Y}): a course meets once at a time."
        for name, other in others
        if slot.overlaps(other)
    ]


def lecturer_clashes(*, course: Course, slot: Slot, exclude_pk: int | None = None) -> list[str]:
    """Warnings: the course's lecturers teach another course at the same time."""
    lecturer_ids = list(course.lecturers.values_list("pk", flat=True))
    if not lecturer_ids:
        return []
    others = (
        Meeting.objects.filter(
            course__lecturers__in=lecturer_ids,
            weekday=slot.weekday,
            valid_from__lte=slot.valid_to,
            valid_to__gte=slot.valid_from,
        )
        .exclude(course=course)
        .exclude(pk=exclude_pk)
        .select_related("course")
        .distinct()
    )
    return [
        f"Clash in a lecturer's week: {other.course.code} also meets {Slot.of(other).describe()} "
        f"({other.valid_from:%d %b} – {other.valid_to:%d %b %Y})."
        for other in others
        if slot.overlaps(Slot.of(other))
    ]


def locked_siblings(
    *, course: Course, exclude_pks: Iterable[int | None] = ()
) -> list[tuple[str, Slot]]:
    """The course's meetings (named), but those in `exclude_pks`, read under the course's lock.

    Inside a transaction: the lock makes concurrent changes of one course's
    timetable take turns, so each sees the other's result before it checks for
    overlaps. The admin's forms check with it too, in the transaction they save in.
    """
    Course.objects.select_for_update().filter(pk=course.pk).first()
    siblings = Meeting.objects.filter(course=course).exclude(
        pk__in=[pk for pk in exclude_pks if pk is not None]
    )
    return [(f"{course.code} {Slot.of(m).describe()}", Slot.of(m)) for m in siblings]


def _save(meeting: Meeting, *, exclude_pk: int | None) -> list[str]:
    """Check and save `meeting` under the course's lock; its lecturer warnings."""
    slot = Slot.of(meeting)
    with transaction.atomic():
        problems = slot_problems(slot=slot, term=meeting.term)
        late = meeting.late_after_minutes
        if late is not None and not 0 <= late <= MAX_LATE_AFTER_MINUTES:
            problems.append(f"The late threshold is 0 to {MAX_LATE_AFTER_MINUTES} minutes.")
        if not problems:
            problems = overlap_problems(
                slot=slot, others=locked_siblings(course=meeting.course, exclude_pks=[exclude_pk])
            )
        if problems:
            raise TimetableError(" ".join(problems))
        try:
            with transaction.atomic():
                meeting.save()
        except IntegrityError:
            # PostgreSQL's exclusion constraint (or a check) caught what the
            # checks above could not see: a write from outside these functions.
            raise TimetableError(
                "It overlaps another meeting of the course: a course meets once at a time."
            ) from None
    return lecturer_clashes(course=meeting.course, slot=slot, exclude_pk=meeting.pk)


def meeting_save(*, meeting: Meeting) -> list[str]:
    """Check and save a meeting whose fields are set already (admin's forms); its warnings."""
    return _save(meeting, exclude_pk=meeting.pk)


def meeting_create(
    *,
    course: Course,
    term: Term,
    weekday: int,
    start_time: time,
    duration_minutes: int,
    room: str = "",
    late_after_minutes: int | None = None,
    auto_start: bool = True,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> tuple[Meeting, list[str]]:
    """A weekly meeting of `course` in `term` (valid for the whole term unless narrowed).

    Returns the meeting and warnings (clashes in a lecturer's week).
    """
    meeting = Meeting(
        course=course,
        term=term,
        weekday=weekday,
        start_time=start_time.replace(second=0, microsecond=0),
        duration_minutes=duration_minutes,
        room=(room or "").strip(),
        late_after_minutes=late_after_minutes,
        auto_start=auto_start,
        valid_from=valid_from or term.starts_on,
        valid_to=valid_to or term.ends_on,
    )
    warnings = _save(meeting, exclude_pk=None)
    return meeting, warnings


EDITABLE = {
    "weekday",
    "start_time",
    "duration_minutes",
    "room",
    "late_after_minutes",
    "auto_start",
    "valid_from",
    "valid_to",
}


def meeting_update(*, meeting: Meeting, **changes) -> tuple[Meeting, list[str]]:
    """Change a meeting from now on. Classes already opened or cancelled keep their
    own time and room (their occurrences), so past sessions are never rewritten."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise TimetableError(f"These cannot be changed: {', '.join(sorted(unknown))}.")
    original = {name: getattr(meeting, name) for name in changes}
    for name, value in changes.items():
        setattr(meeting, name, value)
    try:
        warnings = _save(meeting, exclude_pk=meeting.pk)
    except TimetableError:
        for name, value in original.items():
            setattr(meeting, name, value)
        raise
    return meeting, warnings


def meeting_remove(*, meeting: Meeting) -> None:
    """Remove a meeting. Its opened and cancelled classes stay, with their sessions
    and registers (their meeting becomes empty)."""
    meeting.delete()


def term_of(day: date) -> Term:
    term = Term.objects.filter(starts_on__lte=day, ends_on__gte=day).order_by("-starts_on").first()
    if term is None:
        raise TimetableError(f"No term includes {day:%d %b %Y}: add the term first.")
    return term


def extra_class_create(
    *,
    course: Course,
    day: date,
    start_time: time,
    duration_minutes: int,
    room: str = "",
    late_after_minutes: int | None = None,
    auto_start: bool = True,
    now: datetime | None = None,
) -> tuple[Meeting, list[str]]:
    """A one-off class: a meeting valid on `day` only."""
    now = now or timezone.now()
    if day < local_date(now):
        raise TimetableError("An extra class cannot be in the past.")
    return meeting_create(
        course=course,
        term=term_of(day),
        weekday=day.weekday(),
        start_time=start_time,
        duration_minutes=duration_minutes,
        room=room,
        late_after_minutes=late_after_minutes,
        auto_start=auto_start,
        valid_from=day,
        valid_to=day,
    )


# --- cancelling a class ---------------------------------------------------------------------


def cancel_class(
    *,
    meeting: Meeting,
    day: date,
    by: AbstractBaseUser | None,
    reason: str = "",
    now: datetime | None = None,
) -> Occurrence:
    """Call off `meeting`'s class on `day`. Idempotent; refused once the class has opened.

    The cancellation is the day's occurrence, so the one-occurrence-per-day
    constraint settles a race with the sweep opening it: one of them wins.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise TimetableError("Keep the reason under 200 characters.")
    if day not in set(meeting_days(meeting, day, day)):
        raise TimetableError(f"{meeting.course.code} has no class then ({meeting}) on {day}.")
    starts_at, ends_at = meeting_times(meeting, day)
    if now >= ends_at:
        raise TimetableError("That class is over; it can no longer be cancelled.")
    # A restore may delete the cancellation between our insert failing and our
    # read: then the day is free again, and the insert is tried once more.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Occurrence.objects.create(
                    meeting=meeting,
                    course_id=meeting.course_id,
                    date=day,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    room=meeting.room,
                    status=Occurrence.Status.CANCELLED,
                    reason=reason,
                    by=by if by is not None and by.is_authenticated else None,
                    created_at=now,
                )
        except IntegrityError:
            existing = Occurrence.objects.filter(meeting=meeting, date=day).first()
        if existing is None:
            continue
        if existing.status == Occurrence.Status.CANCELLED:
            return existing
        raise TimetableError(
            "That class has already opened: end its session from the dashboard instead."
        )
    raise TimetableError("That class is being changed by someone else right now; try again.")


def restore_class(*, occurrence: Occurrence, now: datetime | None = None) -> None:
    """Undo a cancellation while the class is still to come."""
    now = now or timezone.now()
    if occurrence.status != Occurrence.Status.CANCELLED:
        raise TimetableError("Only a cancelled class can be restored.")
    if now >= occurrence.ends_at:
        raise TimetableError("That class is over; it can no longer be restored.")
    Occurrence.objects.filter(pk=occurrence.pk, status=Occurrence.Status.CANCELLED).delete()


# --- copying a term's timetable -------------------------------------------------------------


@dataclass
class CopyResult:
    copied: list[Meeting] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def previous_term(term: Term) -> Term | None:
    return Term.objects.filter(starts_on__lt=term.starts_on).order_by("-starts_on").first()


def copy_timetable(
    *, source: Term, target: Term, courses: list[Course] | None = None
) -> CopyResult:
    """Copy `source`'s weekly meetings into `target`, valid for the whole of it.

    One-off classes are not copied. A meeting that would overlap one the course
    already has in `target` (a copy made before, say) is skipped and named.
    """
    if source.pk == target.pk:
        raise TimetableError("Choose a different term to copy from.")
    meetings = Meeting.objects.filter(term=source).select_related("course")
    if courses is not None:
        meetings = meetings.filter(course__in=courses)
    result = CopyResult()
    for old in meetings:
        if old.is_one_off:
            continue
        try:
            new, warnings = meeting_create(
                course=old.course,
                term=target,
                weekday=old.weekday,
                start_time=old.start_time,
                duration_minutes=old.duration_minutes,
                room=old.room,
                late_after_minutes=old.late_after_minutes,
                auto_start=old.auto_start,
            )
        except TimetableError as exc:
            result.skipped.append(f"{old}: {exc}")
            continue
        result.copied.append(new)
        result.warnings.extend(warnings)
    return result
