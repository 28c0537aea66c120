"""Reads shared by the pages, the API and the real-time layer."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from attendance import codes
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


@dataclass(frozen=True)
class SessionCounts:
    connected: int = 0
    checked_in: int = 0
    enrolled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "connected": self.connected,
            "checked_in": self.checked_in,
            "enrolled": self.enrolled,
        }


def courses_for_user(user: AbstractBaseUser) -> QuerySet[Course]:
    """The courses a user may see: staff see all, a lecturer their own."""
    if not user.is_authenticated:
        return Course.objects.none()
    if user.is_staff:
        return Course.objects.all()
    return Course.objects.filter(lecturers=user)


def search_students(students: QuerySet[Student], *, text: str) -> QuerySet[Student]:
    """The students matching every word of `text`, for the fee pages and the API alike.

    A word matches when the first name, last name, student number or email
    contains it, in any case; so "ada lovelace" finds Ada Lovelace, and so does
    "lovelace ada". Empty or whitespace-only text filters nothing. One WHERE
    clause per word, no extra query.
    """
    for word in text.split():
        students = students.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(student_number__icontains=word)
            | Q(email__icontains=word)
        )
    return students


def user_can_manage_course(user: AbstractBaseUser, course: Course) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_staff or course.lecturers.filter(pk=user.pk).exists()


def user_runs_sessions(user: AbstractBaseUser) -> bool:
    """Staff, or a lecturer of some course: who may run the school-wide session refresh
    (the API's IsStaffOrLecturer asks the same)."""
    if not user.is_authenticated:
        return False
    return user.is_staff or Course.objects.filter(lecturers=user).exists()


def active_sessions_by_course(course_ids: list[int]) -> dict[int, NetworkSession]:
    """The newest active session of each course, in one query."""
    found: dict[int, NetworkSession] = {}
    sessions = NetworkSession.objects.filter(course_id__in=course_ids, is_active=True).order_by(
        "course_id", "-date", "-started_at"
    )
    for session in sessions:
        found.setdefault(session.course_id, session)
    return found


def enrolled_counts(course_ids: list[int]) -> dict[int, int]:
    rows = (
        Enrollment.objects.filter(course_id__in=course_ids, student__is_active=True)
        .values("course_id")
        .annotate(n=Count("id"))
    )
    return {row["course_id"]: row["n"] for row in rows}


def session_counts(sessions: list[NetworkSession]) -> dict[int, SessionCounts]:
    """Connected devices, checked-in students and enrolment for each session, in two queries."""
    if not sessions:
        return {}
    enrolled = enrolled_counts(sorted({s.course_id for s in sessions}))
    rows = (
        ConnectedDevice.objects.filter(session__in=[s.pk for s in sessions])
        .values("session_id")
        .annotate(
            connected=Count("id", filter=Q(is_connected=True)),
            checked_in=Count("device__student", distinct=True),
        )
    )
    by_session = {row["session_id"]: row for row in rows}
    result = {}
    for s in sessions:
        row = by_session.get(s.pk, {})
        result[s.pk] = SessionCounts(
            connected=row.get("connected", 0),
            checked_in=row.get("checked_in", 0),
            enrolled=enrolled.get(s.course_id, 0),
        )
    return result


# A card lists at most this many names in each of its two lists; the totals are
# always exact. A lecture hall's roll is read on the session's page: building,
# sending and drawing thousands of names twice a second would cost the server
# more than the joins it reports (a 10,000-student list took 60-140 ms of
# Python per reading).
ROSTER_NAMES = 200


def _roster_sql(sessions: int) -> str:
    """Both lists of each session, the first ROSTER_NAMES of each in name order, with totals.

    Every active enrolled student once per session: checked in if one of their
    devices joined it (with the first join, for lateness), else waiting. The
    database numbers and counts each list, so only the names shown come back.
    """
    marks = ", ".join(["%s"] * sessions)
    return f"""
        WITH joined AS (
            SELECT cd.session_id, d.student_id, MIN(cd.connected_at) AS first_join
            FROM {ConnectedDevice._meta.db_table} cd
            JOIN {Device._meta.db_table} d ON d.id = cd.device_id
            WHERE cd.session_id IN ({marks})
            GROUP BY cd.session_id, d.student_id
        ), listed AS (
            SELECT s.id AS session_id, st.student_number, st.first_name, st.last_name,
                   j.first_join,
                   ROW_NUMBER() OVER (
                       PARTITION BY s.id, j.first_join IS NULL
                       ORDER BY st.last_name, st.first_name, st.student_number
                   ) AS place,
                   COUNT(*) OVER (PARTITION BY s.id, j.first_join IS NULL) AS total
            FROM {NetworkSession._meta.db_table} s
            JOIN {Enrollment._meta.db_table} e ON e.course_id = s.course_id
            JOIN {Student._meta.db_table} st ON st.id = e.student_id AND st.is_active
            LEFT JOIN joined j ON j.session_id = s.id AND j.student_id = st.id
            WHERE s.id IN ({marks})
        )
        SELECT session_id, student_number, first_name, last_name, first_join, total
        FROM listed WHERE place <= %s
        ORDER BY session_id, place
    """


def session_rosters(sessions: list[NetworkSession]) -> dict[int, dict]:
    """Who has checked in to each running session (and whether late) and who has not yet.

    One query whatever the number of sessions or students. Each list holds
    its first ROSTER_NAMES names in name order, and `checked_in_total` /
    `waiting_total` count all of it. Each session needs its `course` loaded
    (for the late threshold). The shape is the session.roster event's
    (attendance/roster.py), so the card and the pushed fragment render from
    one template. Names: for the course's lecturers only; the callers decide
    who sees it.
    """
    if not sessions:
        return {}
    ids = [s.pk for s in sessions]
    rosters = {
        s.pk: {"checked_in": [], "checked_in_total": 0, "waiting": [], "waiting_total": 0}
        for s in sessions
    }
    thresholds = {
        s.pk: late_after(session=s, course_late_after_minutes=s.course.late_after_minutes)
        for s in sessions
    }
    # A raw query's datetimes come back as the database stores them (text on
    # SQLite): the field's own converters make them aware datetimes.
    column = ConnectedDevice._meta.get_field("connected_at").get_col(ConnectedDevice._meta.db_table)
    converters = connection.ops.get_db_converters(column)
    with connection.cursor() as cursor:
        cursor.execute(_roster_sql(len(ids)), [*ids, *ids, ROSTER_NAMES])
        rows = cursor.fetchall()
    for session_id, number, first_name, last_name, first, total in rows:
        roster = rosters[session_id]
        name = f"{first_name} {last_name}".strip()
        if first is None:
            roster["waiting"].append({"student": number, "name": name})
            roster["waiting_total"] = total
            continue
        for convert in converters:
            first = convert(first, column, connection)
        roster["checked_in"].append(
            {"student": number, "name": name, "late": first > thresholds[session_id]}
        )
        roster["checked_in_total"] = total
    return rosters


def absent_if_ended_now(session: NetworkSession) -> int:
    """How many enrolled students ending `session` now would mark absent: no device
    joined and no mark by hand. One query."""
    return (
        Enrollment.objects.filter(course_id=session.course_id, student__is_active=True)
        .exclude(student__devices__connections__session=session)
        .exclude(student__in=AttendanceRecord.objects.filter(session=session).values("student_id"))
        .count()
    )


@dataclass(frozen=True)
class CourseCard:
    """What one dashboard card shows; the page and the live socket both render it."""

    course: Course
    session: NetworkSession | None
    counts: SessionCounts | None
    enrolled: int
    # Today's most recent ended session, with its register totals, while none is running.
    last_ended: NetworkSession | None = None
    # While a session runs: who has checked in and who has not yet (session_rosters).
    roster: dict | None = None

    @property
    def code_expires_at(self):
        return codes.expires_at(self.session) if self.session else None

    @property
    def code_rotate_seconds(self) -> int:
        return codes.rotation_seconds()


def course_cards(*, courses: QuerySet[Course]) -> list[CourseCard]:
    """A card for each course, in a constant number of queries whatever their number."""
    courses = list(courses)
    ids = [c.pk for c in courses]
    active = active_sessions_by_course(ids)
    for course in courses:
        if course.pk in active:
            active[course.pk].course = course
    counts = session_counts(list(active.values()))
    rosters = session_rosters(list(active.values()))
    enrolled = enrolled_counts(ids)
    ended = ended_today_by_course([pk for pk in ids if pk not in active])
    return [
        CourseCard(
            course=course,
            session=active.get(course.pk),
            counts=counts.get(active[course.pk].pk) if course.pk in active else None,
            enrolled=enrolled.get(course.pk, 0),
            last_ended=ended.get(course.pk),
            roster=rosters.get(active[course.pk].pk) if course.pk in active else None,
        )
        for course in courses
    ]


def dashboard_cards(user: AbstractBaseUser) -> list[CourseCard]:
    return course_cards(courses=courses_for_user(user))


def sessions_for_user(user: AbstractBaseUser) -> QuerySet[NetworkSession]:
    """Sessions of the user's courses, newest first, with their register totals."""
    return with_register_totals(
        NetworkSession.objects.filter(course__in=courses_for_user(user)).select_related(
            "course", "started_by"
        )
    ).order_by("-started_at", "-pk")


def with_register_totals(sessions: QuerySet[NetworkSession]) -> QuerySet[NetworkSession]:
    """Each session annotated with its register's present, late, absent and excused counts."""
    return sessions.annotate(
        present=Count("records", filter=Q(records__status="present")),
        late=Count("records", filter=Q(records__status="late")),
        absent=Count("records", filter=Q(records__status="absent")),
        excused=Count("records", filter=Q(records__status="excused")),
    )


def ended_today_by_course(course_ids: list[int]) -> dict[int, NetworkSession]:
    """The latest session of each course that ended today, with its totals, in one query.

    No query at all when every course has a session running.
    """
    if not course_ids:
        return {}
    found: dict[int, NetworkSession] = {}
    ended = with_register_totals(
        NetworkSession.objects.filter(
            course_id__in=course_ids, is_active=False, date=timezone.localdate()
        )
    ).order_by("course_id", "-ended_at")
    for session in ended:
        found.setdefault(session.course_id, session)
    return found
