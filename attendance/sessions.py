"""The class-session lifecycle: start, end (writing the register), expire, refresh.

Every change to a NetworkSession's state goes through these functions. They
hold the rules; views, consumers, the API, admin actions and commands call them.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from attendance import codes, hooks, presence
from attendance.lateness import late_after
from attendance.models import (
    AttendanceRecord,
    ConnectedDevice,
    Course,
    Device,
    Enrollment,
    NetworkSession,
    Student,
)
from realtime import broadcast

logger = logging.getLogger("rollcall.sessions")

EndReason = NetworkSession.EndReason


@dataclass(frozen=True)
class EndResult:
    """What ending a session wrote; equal for every caller of an idempotent end."""

    session_id: int
    course_id: int
    ended_at: datetime
    reason: str
    present: int
    late: int
    absent: int
    excused: int

    @property
    def records(self) -> int:
        return self.present + self.late + self.absent + self.excused

    def as_dict(self) -> dict:
        return {
            "id": self.session_id,
            "ended_at": self.ended_at.isoformat(),
            "reason": self.reason,
            "present": self.present,
            "late": self.late,
            "absent": self.absent,
            "excused": self.excused,
        }


@dataclass
class CleanupResult:
    dry_run: bool
    # Sessions that ended (or, on a dry run, would end), oldest first.
    sessions: list[NetworkSession] = field(default_factory=list)
    ended: list[EndResult] = field(default_factory=list)
    devices_disconnected: int = 0

    @property
    def records_written(self) -> int:
        return sum(result.records for result in self.ended)


def start_session(
    *,
    course: Course,
    by: AbstractBaseUser | None,
    now: datetime | None = None,
    scheduled_start: datetime | None = None,
    late_after_minutes: int | None = None,
) -> tuple[NetworkSession, bool]:
    """The course's active session for today, or a new one; `created` says which.

    Two concurrent starts yield one session: the database's conditional unique
    constraint picks the winner, and the loser returns it.

    A timetabled class passes its `scheduled_start` (lateness counts from it)
    and its own `late_after_minutes`; an existing session is returned as it is
    (see schedule_session).
    """
    now = now or timezone.now()
    # A timetabled class's session is dated by the class: one at 00:00 opens at
    # 23:55 and belongs to the day it is held, where a start by hand at 00:05
    # finds it.
    today = timezone.localdate(scheduled_start or now)
    days = {today, timezone.localdate(now)}
    for _attempt in range(10):
        existing = (
            NetworkSession.objects.filter(course=course, date__in=days, is_active=True)
            .order_by("-date")
            .first()
        )
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                session = NetworkSession.objects.create(
                    course=course,
                    started_by=by if by is not None and by.is_authenticated else None,
                    date=today,
                    started_at=now,
                    scheduled_start=scheduled_start,
                    late_after_minutes=late_after_minutes,
                    join_code=codes.unused_join_code(),
                    code_rotated_at=now,
                )
                _announce_started(session)
        except IntegrityError:
            # Either another start won the (course, date) race, or the join
            # code collided with one taken meanwhile; look again and retry.
            # Or the course was deleted meanwhile (an admin): nothing to start.
            if not Course.objects.filter(pk=course.pk).exists():
                raise Course.DoesNotExist(f"{course.code} was deleted.") from None
            continue
        # Yesterday's class left running is closed, with its register. Newest
        # first, as end_session locks them: its end takes any older one along.
        for stale in NetworkSession.objects.filter(
            course=course, is_active=True, date__lt=today
        ).order_by("-started_at", "-pk"):
            end_session(session=stale, reason=EndReason.SUPERSEDED, now=now)
        return session, True
    raise RuntimeError(f"Could not start a session for {course.code}: too much contention.")


@dataclass(frozen=True)
class ScheduledStart:
    """A class to open: its course, when it is timetabled to start, its late threshold."""

    course_id: int
    scheduled_start: datetime
    late_after_minutes: int | None


def open_scheduled_sessions(
    *, classes: list[ScheduledStart], now: datetime
) -> list[NetworkSession]:
    """Open a session for each of `classes` at once, in the caller's transaction.

    For courses with no active session (the caller checked): one query for the
    join codes in use and one insert for them all, however many classes start
    together. A course that got a session meanwhile makes the insert fail with
    IntegrityError, so the caller can roll back and open them one at a time.
    """
    if not classes:
        return []
    join_codes = codes.unused_join_codes(len(classes))
    with transaction.atomic():
        opened = NetworkSession.objects.bulk_create(
            NetworkSession(
                course_id=item.course_id,
                # Dated by the class, as start_session does.
                date=timezone.localdate(item.scheduled_start),
                started_at=now,
                scheduled_start=item.scheduled_start,
                late_after_minutes=item.late_after_minutes,
                join_code=code,
                code_rotated_at=now,
            )
            for item, code in zip(classes, join_codes, strict=True)
        )
    for session in opened:
        _announce_started(session)
    return opened


def schedule_session(
    *, session: NetworkSession, scheduled_start: datetime, late_after_minutes: int | None
) -> bool:
    """Give a running session its class's scheduled start (and threshold); False if it ended.

    For a session the lecturer started by hand before the timetable opened
    it: its register will count lateness from the class's start.
    """
    updated = NetworkSession.objects.filter(pk=session.pk, is_active=True).update(
        scheduled_start=scheduled_start, late_after_minutes=late_after_minutes
    )
    if updated:
        session.scheduled_start, session.late_after_minutes = scheduled_start, late_after_minutes
    return bool(updated)


def _announce_started(session: NetworkSession) -> None:
    audience = broadcast.course_audience(session.course_id)
    broadcast.publish(
        audience,
        {
            "type": "session.started",
            "course": session.course_id,
            "session": session.pk,
            "started_at": session.started_at.isoformat(),
        },
    )
    # A program watching the course learns the first code the way it learns
    # every later one.
    broadcast.publish(audience, codes.code_event(session))


def _announce_ended(result: EndResult, *, statuses: dict[int, str]) -> None:
    """The course's lecturers get the totals; each device in the session its own status."""
    broadcast.publish(
        broadcast.course_audience(result.course_id),
        {
            "type": "session.ended",
            "course": result.course_id,
            "session": result.session_id,
            "ended_at": result.ended_at.isoformat(),
            "reason": result.reason,
            "present": result.present,
            "late": result.late,
            "absent": result.absent,
        },
    )
    broadcast.publish(
        [broadcast.session_devices_group(result.session_id)],
        {
            "type": "session.ended",
            "session": result.session_id,
            "statuses": {str(k): v for k, v in statuses.items()},
        },
    )
    broadcast.forget_counts(session_id=result.session_id)


def _write_register(*, session: NetworkSession, now: datetime) -> list[int]:
    """One INSERT ... SELECT: a record for every enrolled, active student, whatever the class size.

    Returns the students whose records the register hooks must hear of (none
    without hooks); the caller tells them, once per transaction.

    Present if a device joined by the late threshold (late_after), late if
    after it, absent if never. Records that already exist (a manual mark) are
    kept as they are.

    On PostgreSQL the students read are locked (FOR KEY SHARE, in id order) as
    they are read: a student being deleted (the admin locks the row first) is
    waited for and then left out, and a delete that comes second waits for
    this register and finds the records that protect the student. Without the
    lock the insert met a student deleted meanwhile with a foreign-key error.
    """
    threshold = late_after(
        session=session, course_late_after_minutes=session.course.late_after_minutes
    )
    ops = connection.ops
    record_table = AttendanceRecord._meta.db_table
    sql = f"""
        INSERT INTO {record_table}
            (session_id, student_id, status, first_seen, last_seen, source, created_at, updated_at)
        SELECT %s, e.student_id,
               CASE WHEN p.first_seen IS NULL THEN 'absent'
                    WHEN p.first_seen > %s THEN 'late'
                    ELSE 'present' END,
               p.first_seen, p.last_seen, 'device', %s, %s
        FROM {Enrollment._meta.db_table} e
        JOIN {Student._meta.db_table} s ON s.id = e.student_id
        LEFT JOIN (
            SELECT d.student_id AS student_id,
                   MIN(cd.connected_at) AS first_seen,
                   MAX(cd.last_seen_at) AS last_seen
            FROM {ConnectedDevice._meta.db_table} cd
            JOIN {Device._meta.db_table} d ON d.id = cd.device_id
            WHERE cd.session_id = %s
            GROUP BY d.student_id
        ) p ON p.student_id = e.student_id
        WHERE e.course_id = %s AND s.is_active = %s
        ORDER BY e.student_id
        {"FOR KEY SHARE OF s" if connection.vendor == "postgresql" else ""}
        ON CONFLICT (session_id, student_id) DO NOTHING
    """
    stamp = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                session.pk,
                ops.adapt_datetimefield_value(threshold),
                stamp,
                stamp,
                session.pk,
                session.course_id,
                True,
            ],
        )
    if not hooks.register_hooks():
        return []
    # Every student of the register, manual marks included: the hooks
    # recompute what they keep from the course's records.
    return list(
        AttendanceRecord.objects.filter(session=session).values_list("student_id", flat=True)
    )


def _result_from_records(session: NetworkSession) -> EndResult:
    totals = AttendanceRecord.objects.filter(session=session).aggregate(
        present=Count("id", filter=Q(status="present")),
        late=Count("id", filter=Q(status="late")),
        absent=Count("id", filter=Q(status="absent")),
        excused=Count("id", filter=Q(status="excused")),
    )
    return EndResult(
        session_id=session.pk,
        course_id=session.course_id,
        ended_at=session.ended_at,
        reason=session.end_reason,
        **totals,
    )


def end_session(
    *,
    session: NetworkSession,
    by: AbstractBaseUser | None = None,
    reason: str = EndReason.ENDED,
    now: datetime | None = None,
) -> EndResult:
    """End `session` and write its register, in one transaction. Idempotent.

    A second (or concurrent) call waits for the row lock, sees the session
    already ended and returns the same result without writing anything.
    """
    if reason not in EndReason.values:
        raise ValueError(f"Unknown end reason {reason!r}.")
    now = now or timezone.now()
    with transaction.atomic():
        # Only the session's row is locked; its course comes along for the late threshold.
        locked = (
            NetworkSession.objects.select_for_update(of=("self",))
            .select_related("course")
            .get(pk=session.pk)
        )
        if not locked.is_active:
            result = _result_from_records(locked)
        else:
            # Older sessions of this course still open are stale duplicates:
            # they end too, with their registers. Never a newer one: a class
            # started after this one is not this one's leftover. Their rows
            # are locked now, newest first, before the register locks the
            # students' standings: every end takes sessions before standings
            # and sessions newest first, so two ends (a lecturer's and the
            # sweeper's) cannot each hold what the other waits for.
            stale = list(
                NetworkSession.objects.select_for_update(of=("self",))
                .filter(
                    course_id=locked.course_id, is_active=True, started_at__lt=locked.started_at
                )
                .exclude(pk=locked.pk)
                .order_by("-started_at", "-pk")
            )
            students = _close(locked, by=by, reason=reason, now=now)
            for older in stale:
                older.course = locked.course
                students += _close(older, by=None, reason=EndReason.SUPERSEDED, now=now)
                _announce_and_log(_result_from_records(older), older)
            # The hooks hear of every register at once: each call locks its
            # students' standings in id order, and a second call could want
            # one below those the first holds.
            hooks.register_changed(course_id=locked.course_id, student_ids=students)
            result = _result_from_records(locked)
            _announce_and_log(result, locked)
    session.is_active, session.ended_at, session.end_reason = False, result.ended_at, result.reason
    return result


def _close(
    session: NetworkSession, *, by: AbstractBaseUser | None, reason: str, now: datetime
) -> list[int]:
    """End a locked, active session: its register, its devices, its row. The students the
    register hooks must hear of are returned, for the caller to tell them once."""
    students = _write_register(session=session, now=now)
    presence.in_writers_order(
        ConnectedDevice.objects.filter(session=session, is_connected=True)
    ).update(is_connected=False, disconnected_at=now)
    session.is_active = False
    session.ended_at = now
    session.end_reason = reason
    session.ended_by = by if by is not None and by.is_authenticated else None
    session.save(update_fields=["is_active", "ended_at", "end_reason", "ended_by"])
    return students


def _announce_and_log(result: EndResult, session: NetworkSession) -> None:
    statuses = dict(
        AttendanceRecord.objects.filter(
            session=session, status__in=["present", "late"]
        ).values_list("student_id", "status")
    )
    _announce_ended(result, statuses=statuses)
    logger.info(
        "Ended session %s (%s): %s present, %s late, %s absent",
        session.pk,
        result.reason,
        result.present,
        result.late,
        result.absent,
    )


def _ended_by_this_call(result: EndResult, *, reason: str, now: datetime) -> bool:
    # Another sweeper (or the lecturer) may have ended the session between our
    # listing and our end_session; its idempotent answer is not our work.
    return result.reason == reason and result.ended_at == now


def expired_sessions(*, hours: int, now: datetime) -> list[NetworkSession]:
    cutoff = now - timedelta(hours=hours)
    return list(
        NetworkSession.objects.select_related("course")
        .filter(is_active=True, started_at__lt=cutoff)
        .order_by("started_at")
    )


def cleanup_expired_sessions(
    *, hours: int | None = None, now: datetime | None = None, dry_run: bool = False
) -> CleanupResult:
    """End active sessions older than `hours`, keeping their registers; sweep silent devices."""
    hours = settings.ATTENDANCE_SESSION_MAX_HOURS if hours is None else hours
    if hours < 0:
        raise ValueError("hours must not be negative.")
    now = now or timezone.now()
    result = CleanupResult(dry_run=dry_run, sessions=expired_sessions(hours=hours, now=now))
    if dry_run:
        result.devices_disconnected = presence.silent_devices(now=now).count()
        return result
    for session in result.sessions:
        ended = end_session(session=session, reason=EndReason.EXPIRED, now=now)
        if _ended_by_this_call(ended, reason=EndReason.EXPIRED, now=now):
            result.ended.append(ended)
    result.devices_disconnected = presence.sweep_silent_devices(now=now)
    return result


def end_all_active_sessions(
    *, by: AbstractBaseUser | None = None, now: datetime | None = None, dry_run: bool = False
) -> CleanupResult:
    """End of day: end every active session now, writing every register."""
    now = now or timezone.now()
    sessions = list(
        NetworkSession.objects.select_related("course")
        .filter(is_active=True)
        .order_by("started_at")
    )
    result = CleanupResult(dry_run=dry_run, sessions=sessions)
    if not dry_run:
        for session in sessions:
            ended = end_session(session=session, by=by, reason=EndReason.FORCED, now=now)
            if _ended_by_this_call(ended, reason=EndReason.FORCED, now=now):
                result.ended.append(ended)
    return result


def supersede_duplicate_sessions(*, now: datetime | None = None) -> list[EndResult]:
    """End every active session but the newest of its course, each with its register."""
    now = now or timezone.now()
    newest: set[int] = set()
    duplicates = []
    for session in NetworkSession.objects.filter(is_active=True).order_by(
        "course_id", "-date", "-started_at"
    ):
        if session.course_id in newest:
            duplicates.append(session)
        else:
            newest.add(session.course_id)
    results = [
        end_session(session=session, reason=EndReason.SUPERSEDED, now=now) for session in duplicates
    ]
    return [r for r in results if _ended_by_this_call(r, reason=EndReason.SUPERSEDED, now=now)]


def refresh_active_sessions(
    *, now: datetime | None = None, hours: int | None = None
) -> dict[str, int]:
    """Keep one active session per course (the newest), end expired ones; return counts."""
    now = now or timezone.now()
    superseded = supersede_duplicate_sessions(now=now)
    cleanup = cleanup_expired_sessions(hours=hours, now=now)
    return {
        "expired": len(cleanup.ended),
        "superseded": len(superseded),
        "active": NetworkSession.objects.filter(is_active=True).count(),
    }
