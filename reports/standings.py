"""Standings kept with the register: counts, rate and whether a student is at risk.

`register_changed` is the register hook (settings.ATTENDANCE_REGISTER_HOOKS):
the register writers call it inside their transaction with the students whose
records of one course changed. It costs the same few queries for 3 students or
300, and for a student who falls below the course's threshold it writes one
AttendanceWarning and mails the student and, in one digest, the lecturers.

Two writes racing for the same students (two corrections, an end and a
correction) take the standing rows' locks in student order; the second reads
the counts once the first has committed, so it never warns for a fall the
first already warned for. The warnings' unique (student, course, crossing)
would refuse a second one in any case. A rebuild takes all of the course's
rows, in the same order, before it counts; and each reads the course's
threshold once it holds them, so a write that waited for a new threshold's
rebuild judges by the new threshold.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from attendance.models import AttendanceRecord, Course, NetworkSession, Student
from attendance.reports import below_threshold
from reports import notices
from reports.models import AttendanceWarning, Standing

Status = AttendanceRecord.Status
COUNT_FIELDS = ("held", "present", "late", "absent", "excused")
UPDATE_FIELDS = (*COUNT_FIELDS, "rate", "below", "crossings", "updated_at")
FOUR_PLACES = Decimal("0.0001")
# Rows per upsert statement: 11 parameters each, under SQLite's 32,766 and
# PostgreSQL's 65,535. One statement for any class up to this size.
UPSERT_ROWS = 2000


@dataclass(frozen=True)
class Counts:
    present: int = 0
    late: int = 0
    absent: int = 0
    excused: int = 0

    @property
    def held(self) -> int:
        return self.present + self.late + self.absent + self.excused

    @property
    def rate(self) -> Decimal | None:
        counted = self.present + self.late + self.absent
        if not counted:
            return None
        return (Decimal(self.present + self.late) / counted).quantize(
            FOUR_PLACES, rounding=ROUND_HALF_UP
        )

    def below(self, course: Course) -> bool:
        return below_threshold(
            present=self.present,
            late=self.late,
            absent=self.absent,
            warn_below_percent=course.warn_below_percent,
            warn_after_sessions=course.warn_after_sessions,
        )


def course_counts(*, course_id: int, student_ids: Iterable[int] | None = None) -> dict[int, Counts]:
    """Each student's counts over the course's records, in one grouped query.

    Every record of the course counts: records are written when a session
    ends, and the hook runs while its register is being written.
    """
    records = AttendanceRecord.objects.filter(session__course_id=course_id)
    if student_ids is not None:
        records = records.filter(student_id__in=list(student_ids))
    rows = (
        records.order_by()
        .values_list("student_id")
        .annotate(
            present=Count("pk", filter=Q(status=Status.PRESENT)),
            late=Count("pk", filter=Q(status=Status.LATE)),
            absent=Count("pk", filter=Q(status=Status.ABSENT)),
            excused=Count("pk", filter=Q(status=Status.EXCUSED)),
        )
    )
    return {
        student_id: Counts(present=p, late=la, absent=a, excused=e)
        for student_id, p, la, a, e in rows
    }


def _apply(standing: Standing, counts: Counts, course: Course, now) -> None:
    for name in COUNT_FIELDS:
        setattr(standing, name, getattr(counts, name))
    standing.rate = counts.rate
    standing.below = counts.below(course)
    standing.updated_at = now


def _columns(names) -> list[str]:
    quote = connection.ops.quote_name
    return [quote(Standing._meta.get_field(name).column) for name in names]


def _upsert(standings: list[Standing]) -> None:
    """Write `standings` in one INSERT ... ON CONFLICT DO UPDATE, whatever their number.

    By hand rather than bulk_create(update_conflicts=True): on SQLite Django
    splits that into batches of 999 parameters, so a class of 300 would cost
    several statements; SQLite itself takes 32,766 (UPSERT_ROWS rows a statement).
    """
    for start in range(0, len(standings), UPSERT_ROWS):
        _upsert_chunk(standings[start : start + UPSERT_ROWS])


def _upsert_chunk(standings: list[Standing]) -> None:
    if not standings:
        return
    ops = connection.ops
    names = ["student", "course", *UPDATE_FIELDS]
    columns = _columns(names)
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    params: list = []
    for s in standings:
        params += [
            s.student_id,
            s.course_id,
            *(getattr(s, name) for name in COUNT_FIELDS),
            ops.adapt_decimalfield_value(s.rate, 5, 4),
            s.below,
            s.crossings,
            ops.adapt_datetimefield_value(s.updated_at),
        ]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    sql = (
        f"INSERT INTO {ops.quote_name(Standing._meta.db_table)} ({', '.join(columns)}) "
        f"VALUES {', '.join([row] * len(standings))} "
        f"ON CONFLICT ({columns[0]}, {columns[1]}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _ensure_rows(*, course_id: int, student_ids: list[int] | None, now) -> None:
    """A standing row for each student (zeros), so there is a row to lock: one statement.

    `None`: each student with a record in the course (a rebuild). A first write
    for a student races on the unique pair; the loser's insert waits for the
    winner's commit and then adds nothing. Rows go in in student order, as the
    locks are taken, so two writers never each wait for a row the other added.
    """
    ops = connection.ops
    names = ["student", "course", *UPDATE_FIELDS]
    if student_ids is None:
        records = ops.quote_name(AttendanceRecord._meta.db_table)
        sessions = ops.quote_name(NetworkSession._meta.db_table)
        wanted = (
            f"SELECT r.student_id FROM {records} r "
            f"JOIN {sessions} s ON s.id = r.session_id WHERE s.course_id = %s"
        )
        ids = [course_id]
    else:
        wanted = ", ".join(["%s"] * len(student_ids))
        ids = student_ids
    sql = (
        f"INSERT INTO {ops.quote_name(Standing._meta.db_table)} ({', '.join(_columns(names))}) "
        f"SELECT id, %s, 0, 0, 0, 0, 0, NULL, %s, 0, %s "
        f"FROM {ops.quote_name(Student._meta.db_table)} WHERE id IN ({wanted}) ORDER BY id "
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [course_id, False, ops.adapt_datetimefield_value(now), *ids])


def register_changed(*, course_id: int, student_ids: Iterable[int]) -> None:
    """Recompute these students' standings in the course; warn each who fell below.

    Inside the caller's transaction. Five queries when no one falls; three
    more when someone does (the warnings, the lecturers' addresses, the mail).
    """
    ids = sorted(set(student_ids))
    if not ids:
        return
    now = timezone.now()
    # savepoint=False: inside the register's transaction, no SAVEPOINT round trips.
    with transaction.atomic(savepoint=False):
        _ensure_rows(course_id=course_id, student_ids=ids, now=now)
        locked = list(
            Standing.objects.select_for_update(of=("self",))
            .select_related("student", "student__user")
            .filter(course_id=course_id, student_id__in=ids)
            .order_by("student_id")
        )
        if not locked:
            return
        # Read once the rows are ours: a rebuild for a new threshold that held them
        # has committed that threshold too (a course joined to the locking query
        # would be the one it saw before it waited).
        course = Course.objects.get(pk=course_id)
        counts = course_counts(course_id=course_id, student_ids=ids)
        fallen: list[Standing] = []
        for standing in locked:
            was_below = standing.below
            _apply(standing, counts.get(standing.student_id, Counts()), course, now)
            if standing.below and not was_below:
                standing.crossings += 1
                fallen.append(standing)
        _upsert(locked)
        if fallen:
            _warn(course=course, fallen=fallen, now=now)


def _warn(*, course: Course, fallen: list[Standing], now) -> None:
    warnings = AttendanceWarning.objects.bulk_create(
        AttendanceWarning(
            student_id=s.student_id,
            course_id=course.pk,
            crossing=s.crossings,
            rate=s.rate,
            created_at=now,
        )
        for s in fallen
    )
    for warning, standing in zip(warnings, fallen, strict=True):
        warning.student = standing.student
        warning.course = course
    notices.enqueue_warnings(course=course, warnings=warnings, standings=fallen)


# --- rebuilding from the registers ---------------------------------------------------------


def rebuild_course(*, course: Course) -> int:
    """Fill the course's standings from its records, sending no warning. Returns rows written.

    For data that predates the standings (or repair), and for a new threshold:
    a student below now is marked below without a mail; the next fall after a
    rise warns as usual. Six queries per course whatever its size.

    The course's rows are locked (in student order, as register writes lock
    them) before anything is read, so a register write racing the rebuild
    either commits first and is counted or waits and counts after it; neither
    writes counts or a crossing the other has already replaced.
    """
    now = timezone.now()
    with transaction.atomic():
        _ensure_rows(course_id=course.pk, student_ids=None, now=now)
        locked = dict(
            Standing.objects.select_for_update()
            .filter(course_id=course.pk)
            .order_by("student_id")
            .values_list("student_id", "crossings")
        )
        course = Course.objects.get(pk=course.pk)
        counts = course_counts(course_id=course.pk)
        warned = dict(
            AttendanceWarning.objects.filter(course=course)
            .order_by()
            .values_list("student_id")
            .annotate(last=Max("crossing"))
        )
        rows = []
        for student_id, student_counts in counts.items():
            if student_id not in locked:
                # Recorded by a register write that committed after the rows were
                # locked: it wrote this student's standing itself.
                continue
            standing = Standing(
                student_id=student_id,
                course_id=course.pk,
                crossings=max(locked[student_id], warned.get(student_id, 0)),
            )
            _apply(standing, student_counts, course, now)
            rows.append(standing)
        _upsert(rows)
        return len(rows)


def rebuild_all(*, progress: Callable[[int, int, Course], None] | None = None) -> int:
    """Every course's standings from the registers, a course at a time; rows written."""
    courses = list(Course.objects.order_by("pk"))
    written = 0
    for done, course in enumerate(courses, start=1):
        written += rebuild_course(course=course)
        if progress is not None:
            progress(done, len(courses), course)
    return written
