"""Join codes: six digits, unique among active sessions, rotating.

A code rotates every ATTENDANCE_CODE_ROTATE_SECONDS (0 keeps it fixed for the
session); the code it replaced stays valid until the next rotation, so a
student who read it off the screen a moment ago still gets in. Several server
processes may try to rotate the same session at once: the UPDATE is
conditional on the rotation time it read, so exactly one of them wins.
"""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import Course, Enrollment, NetworkSession
from realtime import broadcast

CODE_LENGTH = 6


def new_join_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def is_well_formed(code: object) -> bool:
    return isinstance(code, str) and len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def unused_join_code() -> str:
    """A code that is neither the current nor the previous code of any active session.

    The database's unique constraint on active current codes is the backstop
    for a race; callers retry on IntegrityError.
    """
    return unused_join_codes(1)[0]


def unused_join_codes(n: int) -> list[str]:
    """`n` different codes, none the current or previous code of an active session (one query)."""
    taken = set()
    for current, previous in NetworkSession.objects.filter(is_active=True).values_list(
        "join_code", "previous_join_code"
    ):
        taken.update((current, previous))
    found: list[str] = []
    while len(found) < n:
        code = new_join_code()
        if code not in taken:
            taken.add(code)
            found.append(code)
    return found


def rotation_seconds() -> int:
    return settings.ATTENDANCE_CODE_ROTATE_SECONDS


def expires_at(session: NetworkSession) -> datetime | None:
    """When the session's current code is replaced; None when codes are fixed."""
    seconds = rotation_seconds()
    if seconds <= 0:
        return None
    return session.code_rotated_at + timedelta(seconds=seconds)


def code_event(session: NetworkSession) -> dict:
    expiry = expires_at(session)
    return {
        "type": "session.code",
        "course": session.course_id,
        "session": session.pk,
        "code": session.join_code,
        "expires_at": expiry.isoformat() if expiry else None,
    }


def session_for_code(code: str, *, student_id: int | None = None) -> NetworkSession | None:
    """The active session whose current (or, failing that, previous) code is `code`.

    The session carries `course_code`, and `student_enrolled`: whether the
    student `student_id` is enrolled in its course (False without one).
    """
    if not is_well_formed(code):
        return None
    enrollment = Enrollment._meta.db_table
    # A previous code is not unique: after the current codes, the newest
    # rotation is the one a student most plausibly read off the screen.
    return session_look_up(
        flag="student_enrolled",
        exists=f"SELECT 1 FROM {enrollment} e"
        " WHERE e.course_id = s.course_id AND e.student_id = %s",
        where="s.is_active AND (s.join_code = %s OR s.previous_join_code = %s)"
        " ORDER BY CASE WHEN s.join_code = %s THEN 0 ELSE 1 END, s.code_rotated_at DESC",
        params=[student_id, code, code, code],
    )


def session_look_up(*, flag: str, exists: str, where: str, params: list) -> NetworkSession | None:
    """The first session `s` that `where` picks, with its `course_code` and a boolean `flag`.

    `flag` is the answer of `EXISTS (exists)`. Every device's join pays such a
    look-up, so it is one statement written out: the ORM spends about four
    times as long building it as PostgreSQL spends running it, and a class
    joining at once waits on that.
    """
    sql = f"""
        SELECT s.*, c.code AS course_code, EXISTS ({exists}) AS {flag}
        FROM {NetworkSession._meta.db_table} s
        JOIN {Course._meta.db_table} c ON c.id = s.course_id
        WHERE {where}
        LIMIT 1
    """
    session = next(iter(NetworkSession.objects.raw(sql, params)), None)
    if session is not None:
        # SQLite answers EXISTS with 0 or 1.
        setattr(session, flag, bool(getattr(session, flag)))
    return session


def rotate_code(*, session: NetworkSession, now: datetime | None = None) -> bool:
    """Give `session` a new code if its current one is due; True if this call rotated it."""
    seconds = rotation_seconds()
    now = now or timezone.now()
    if seconds <= 0 or not session.is_active:
        return False
    if now < session.code_rotated_at + timedelta(seconds=seconds):
        return False
    for _attempt in range(5):
        code = unused_join_code()
        try:
            with transaction.atomic():
                changed = NetworkSession.objects.filter(
                    pk=session.pk, is_active=True, code_rotated_at=session.code_rotated_at
                ).update(previous_join_code=session.join_code, join_code=code, code_rotated_at=now)
                if changed:
                    session.previous_join_code = session.join_code
                    session.join_code = code
                    session.code_rotated_at = now
                    # The course's lecturers (and staff) hear of it, never devices.
                    broadcast.publish(
                        broadcast.course_audience(session.course_id), code_event(session)
                    )
        except IntegrityError:
            continue  # another session took this code meanwhile
        return bool(changed)
    return False


def rotate_due_codes(*, now: datetime | None = None) -> int:
    """Rotate every active session whose code is due; return how many this call rotated."""
    seconds = rotation_seconds()
    if seconds <= 0:
        return 0
    now = now or timezone.now()
    due = NetworkSession.objects.filter(
        is_active=True, code_rotated_at__lte=now - timedelta(seconds=seconds)
    )
    return sum(rotate_code(session=session, now=now) for session in due)
