"""The sweep's timetable job: end classes that are over, open classes that are due.

settings.SWEEP_JOBS runs `sweep_job` in every sweep (cleanup_sessions --loop,
the demo's in-process thread, or `cleanup_sessions --now` as of a given time).

- A class's session opens TIMETABLE_OPEN_LEAD_MINUTES before it starts, with
  its scheduled start (lateness counts from it) and its late threshold. If the
  lecturer already started a session by hand, the class takes that one over.
  A meeting with auto_start off opens nothing; the lecturer's own start is
  taken over the same way.
- It ends TIMETABLE_END_GRACE_MINUTES after the class ends, through
  attendance.sessions.end_session, so the register is written. The class
  before a back-to-back one of the same course ends when the next one opens.
- Each class opens at most once, however many sweepers run: its occurrence
  row is inserted first, and the unique (meeting, date) constraint lets one
  insert through. A class cancelled meanwhile has that row already.

A sweep that finds nothing to do costs four queries whatever the size of the
timetable (bench/timetable_bench.py measures it with 2,000 meetings); one that
opens many classes at once costs a few more, the same for 3 classes or 300.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from attendance import sessions
from attendance.models import NetworkSession
from attendance.selectors import active_sessions_by_course
from timetable.models import Closure, Meeting, Occurrence
from timetable.schedule import (
    closure_on,
    end_grace,
    meeting_times,
    open_lead,
    real_time_after,
    school_zone,
)

logger = logging.getLogger("rollcall.timetable")

SCHEDULED = NetworkSession.EndReason.SCHEDULED


@dataclass(frozen=True)
class DueClass:
    meeting: Meeting
    day: date
    starts_at: datetime
    ends_at: datetime


def due_classes(*, now: datetime) -> list[DueClass]:
    """Classes whose opening time has come and that have no occurrence yet (nor a closure)."""
    lead = open_lead()
    local_now = timezone.localtime(now, school_zone())
    horizon = timezone.localtime(now + lead, school_zone())
    # Usually one day; two within `lead` of midnight (a 00:02 class opens the night before).
    days = sorted({local_now.date(), horizon.date()})
    closures = list(Closure.objects.filter(starts_on__lte=days[-1], ends_on__gte=days[0]))
    due = []
    for day in days:
        if closure_on(closures, day) is not None:
            continue
        latest = horizon.time() if day == horizon.date() else time.max
        candidates = (
            Meeting.objects.filter(
                weekday=day.weekday(),
                valid_from__lte=day,
                valid_to__gte=day,
                start_time__lte=latest,
            )
            .exclude(Exists(Occurrence.objects.filter(meeting=OuterRef("pk"), date=day)))
            .select_related("course")
        )
        for meeting in candidates:
            starts_at, ends_at = meeting_times(meeting, day)
            # A class whose end passed unopened (the sweeper was down) stays
            # unopened: a register of absentees for it would be wrong.
            if real_time_after(starts_at, -lead) <= now < ends_at:
                due.append(DueClass(meeting, day, starts_at, ends_at))
    return due


def open_class(due: DueClass, *, now: datetime, running: NetworkSession | None) -> bool:
    """Open `due`'s session (or take over the one running); False if another sweep did,
    or the class was cancelled meanwhile, or it waits for the lecturer (auto_start off)."""
    meeting = due.meeting
    if not meeting.auto_start and running is None:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                occurrence = Occurrence.objects.create(
                    meeting=meeting,
                    course_id=meeting.course_id,
                    date=due.day,
                    starts_at=due.starts_at,
                    ends_at=due.ends_at,
                    room=meeting.room,
                    status=Occurrence.Status.OPENED,
                    created_at=now,
                )
        except IntegrityError:
            return False
        if running is not None:
            # The course's previous class (back to back with this one) is over. (A
            # class opened since the tick began would overlap this one: refused.)
            for session in NetworkSession.objects.filter(
                course_id=meeting.course_id, is_active=True, occurrence__isnull=False
            ):
                sessions.end_session(session=session, reason=SCHEDULED, now=now)
        session, created = sessions.start_session(
            course=meeting.course,
            by=None,
            now=now,
            scheduled_start=due.starts_at,
            late_after_minutes=meeting.late_after_minutes,
        )
        if created and not meeting.auto_start:
            # The lecturer's session this tick was to take over ended meanwhile: a
            # class that waits for its lecturer is not opened by the sweep.
            transaction.set_rollback(True)
            return False
        if not created and not sessions.schedule_session(
            session=session,
            scheduled_start=due.starts_at,
            late_after_minutes=meeting.late_after_minutes,
        ):
            transaction.set_rollback(True)
            return False
        occurrence.session = session
        occurrence.save(update_fields=["session"])
    logger.info(
        "%s %s class %s %s",
        "Opened" if created else "Took over the running session for",
        meeting.course.code,
        due.day,
        timezone.localtime(due.starts_at, school_zone()).strftime("%H:%M"),
    )
    return True


def open_together(due: list[DueClass], *, now: datetime) -> int:
    """Open `due` (auto-started classes of different courses, none running) in a few
    queries whatever their number: their occurrences inserted at once (a class another
    sweeper opened keeps its row and is skipped), then their sessions. Returns how many
    opened; raises IntegrityError (nothing kept) if a course got a session meanwhile."""
    # One order for every sweeper, so two inserting the same rows never deadlock.
    due = sorted(due, key=lambda item: (item.meeting.pk, item.day))
    with transaction.atomic():
        Occurrence.objects.bulk_create(
            [
                Occurrence(
                    meeting=item.meeting,
                    course_id=item.meeting.course_id,
                    date=item.day,
                    starts_at=item.starts_at,
                    ends_at=item.ends_at,
                    room=item.meeting.room,
                    status=Occurrence.Status.OPENED,
                    created_at=now,
                )
                for item in due
            ],
            ignore_conflicts=True,
        )
        # Ours: rows another sweeper inserts stay invisible until it commits, and it
        # commits them with their session.
        wanted = {(item.meeting.pk, item.day): item for item in due}
        ours = [
            occurrence
            for occurrence in Occurrence.objects.select_for_update().filter(
                meeting_id__in=[key[0] for key in wanted],
                date__in={key[1] for key in wanted},
                status=Occurrence.Status.OPENED,
                session__isnull=True,
                created_at=now,
            )
            if (occurrence.meeting_id, occurrence.date) in wanted
        ]
        classes = [wanted[(o.meeting_id, o.date)] for o in ours]
        opened = sessions.open_scheduled_sessions(
            classes=[
                sessions.ScheduledStart(
                    course_id=item.meeting.course_id,
                    scheduled_start=item.starts_at,
                    late_after_minutes=item.meeting.late_after_minutes,
                )
                for item in classes
            ],
            now=now,
        )
        for occurrence, session in zip(ours, opened, strict=True):
            occurrence.session = session
        Occurrence.objects.bulk_update(ours, ["session"])
    for item in classes:
        logger.info(
            "Opened %s class %s %s",
            item.meeting.course.code,
            item.day,
            timezone.localtime(item.starts_at, school_zone()).strftime("%H:%M"),
        )
    return len(opened)


def open_due_classes(*, now: datetime) -> int:
    """Open every class that is due. The usual case, many courses' classes starting at
    once with nothing running, costs the same few queries for 3 classes or 300; a class
    that takes over a running session, waits for its lecturer, or shares its course with
    another due class opens on its own."""
    due = due_classes(now=now)
    if not due:
        return 0
    running = active_sessions_by_course(sorted({d.meeting.course_id for d in due}))
    together, alone, courses = [], [], set()
    for item in due:
        course_id = item.meeting.course_id
        if item.meeting.auto_start and course_id not in running and course_id not in courses:
            together.append(item)
            courses.add(course_id)
        else:
            alone.append(item)
    opened = 0
    if together:
        try:
            opened += open_together(together, now=now)
        except IntegrityError:
            # A lecturer started one of these courses meanwhile: one at a time instead.
            logger.info("A class opened meanwhile; opening %d classes one at a time", len(due))
            alone = due
            running = active_sessions_by_course(sorted({d.meeting.course_id for d in due}))
    for item in alone:
        try:
            opened += open_class(item, now=now, running=running.get(item.meeting.course_id))
        except Exception:
            # One class that cannot open must not keep the others shut.
            logger.exception("Could not open %s on %s", item.meeting, item.day)
    return opened


@dataclass(frozen=True)
class Ended:
    sessions: int
    records: int


def end_finished_classes(*, now: datetime) -> Ended:
    """End every class session whose class ended more than the grace ago, with its register."""
    cutoff = now - end_grace()
    finished = (
        Occurrence.objects.filter(
            session__is_active=True, status=Occurrence.Status.OPENED, ends_at__lte=cutoff
        )
        .select_related("session")
        .order_by("ends_at")
    )
    ended = records = 0
    for occurrence in finished:
        result = sessions.end_session(session=occurrence.session, reason=SCHEDULED, now=now)
        # Another sweeper (or the lecturer) may have ended it meanwhile.
        if result.reason == SCHEDULED and result.ended_at == now:
            ended += 1
            records += result.records
    return Ended(sessions=ended, records=records)


def sweep_job(*, now: datetime) -> dict[str, int]:
    """The sweeper's entry (settings.SWEEP_JOBS): ends first, so a back-to-back class opens
    after the one before it has its register."""
    ended = end_finished_classes(now=now)
    opened = open_due_classes(now=now)
    counts = {
        "classes_ended": ended.sessions,
        "class_records": ended.records,
        "classes_opened": opened,
    }
    return {key: value for key, value in counts.items() if value}
