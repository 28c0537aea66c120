"""Device presence in class sessions: join, heartbeat, leave, and the sweep.

Presence must expire by itself: a socket's disconnect() is not called when a
server process is killed, so the sweep marks devices silent for
PRESENCE_SILENT_INTERVALS heartbeat intervals as disconnected.

The socket consumer is a thin caller: it translates JoinRefused into an error
frame and DeviceRevoked into close code 4403.
"""

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from attendance import codes, roster
from attendance.counters import count_up, read_count
from attendance.models import ConnectedDevice, Device, NetworkSession, Student
from attendance.selectors import session_counts
from realtime import broadcast

PRESENCE_SILENT_INTERVALS = 3
BAD_CODES_PER_MINUTE = 5
BAD_CODE_WINDOW_SECONDS = 60


class JoinRefused(Exception):
    """A join the rules refuse; `code` is the protocol's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class DeviceRevoked(Exception):
    """The device was revoked (or its student deactivated) while its socket was open."""


def heartbeat_seconds() -> int:
    return settings.ATTENDANCE_HEARTBEAT_SECONDS


def silent_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=heartbeat_seconds() * PRESENCE_SILENT_INTERVALS)


def silent_devices(*, now: datetime) -> QuerySet[ConnectedDevice]:
    return ConnectedDevice.objects.filter(is_connected=True, last_seen_at__lt=silent_cutoff(now))


def sweep_silent_devices(*, now: datetime) -> int:
    """Mark devices silent for 3 heartbeat intervals as disconnected; return how many."""
    with transaction.atomic():
        silent = silent_devices(now=now)
        touched = list(silent.values_list("session_id", "session__course_id").distinct())
        swept = silent.update(is_connected=False, disconnected_at=now)
        for session_id, course_id in touched:
            announce_counts(session_id=session_id, course_id=course_id)
    return swept


# --- Rate limit on bad codes ---------------------------------------------------------
# Kept in the cache so that, with Redis as the cache, every server process
# counts the same failures; keyed by the device's public id, never by user text.


def _bad_code_key(device: Device) -> str:
    return f"join-bad-codes:{device.public_id}"


def is_rate_limited(*, device: Device) -> bool:
    return read_count(_bad_code_key(device)) >= BAD_CODES_PER_MINUTE


def _count_bad_code(device: Device) -> None:
    # The minute runs from the first failure.
    count_up(_bad_code_key(device), timeout=BAD_CODE_WINDOW_SECONDS)


# --- Join, heartbeat, leave -------------------------------------------------------------


def counts_event(*, session_id: int, course_id: int) -> dict:
    """The session.counts event, read from the database now."""
    # The version is taken before reading, so a later version always comes
    # from a read that saw every earlier commit; a subscriber fed by several
    # processes keeps the newest.
    version = count_up(f"counts-version:{int(session_id)}", timeout=86400)
    counts = session_counts([NetworkSession(pk=session_id, course_id=course_id)])[session_id]
    return {
        "type": "session.counts",
        "course": course_id,
        "session": session_id,
        **counts.as_dict(),
        "version": version,
    }


def announce_counts(*, session_id: int, course_id: int) -> None:
    """After commit, the session's lecturers get its counts, coalesced (realtime/broadcast.py)."""
    broadcast.publish_counts(
        session_id=session_id,
        groups=broadcast.course_audience(course_id),
        read=functools.partial(counts_event, session_id=session_id, course_id=course_id),
    )
    # Whenever the counts change, so may the names of who has checked in.
    roster.announce_roster(session_id=session_id, course_id=course_id)


def _usable(device: Device) -> QuerySet[Device]:
    """The device, if it may still be used: not revoked, its student active."""
    return Device.objects.filter(pk=device.pk, is_active=True, student__is_active=True)


def _counts_changed(session_id: int) -> None:
    """Announce (after commit) that the session's presence counts changed."""
    course_id = NetworkSession.objects.values_list("course_id", flat=True).get(pk=session_id)
    announce_counts(session_id=session_id, course_id=course_id)


@functools.cache
def _attach_sql(vendor: str) -> str:
    connected = ConnectedDevice._meta.db_table
    session = NetworkSession._meta.db_table
    device = Device._meta.db_table
    student = Student._meta.db_table
    # PostgreSQL: the end of a session holds its row FOR UPDATE and a
    # revocation updates the device's row; these locks make the insert wait
    # for either to commit and then see what it wrote. SQLite runs one writer
    # at a time, so the statement alone is atomic there.
    session_lock, device_lock = (
        (" FOR KEY SHARE", " FOR SHARE OF d") if vendor == "postgresql" else ("", "")
    )
    return f"""
        INSERT INTO {connected}
            (session_id, device_id, connected_at, last_seen_at, is_connected, ip_address)
        SELECT %s, %s, %s, %s, TRUE, %s
        WHERE EXISTS (
                SELECT 1 FROM {session} WHERE id = %s AND is_active{session_lock}
            )
            AND EXISTS (
                SELECT 1 FROM {device} d JOIN {student} st ON st.id = d.student_id
                WHERE d.id = %s AND d.is_active AND st.is_active{device_lock}
            )
        ON CONFLICT (session_id, device_id) DO UPDATE SET
            last_seen_at = excluded.last_seen_at,
            is_connected = TRUE,
            disconnected_at = NULL,
            ip_address = excluded.ip_address
    """


def _attach(
    *, device: Device, session: NetworkSession, ip_address: str | None, now: datetime
) -> None:
    """Upsert the (session, device) row: first join sets connected_at, a rejoin keeps it.

    One statement that writes only while the session is active and the device
    usable, so a join racing the session's end is either in its register or
    refused, never left connected to an ended session.

    Raises DeviceRevoked or JoinRefused("no_active_session") when nothing was written.
    """
    field = ConnectedDevice._meta.get_field
    moment = field("connected_at").get_db_prep_value(now, connection)
    address = field("ip_address").get_db_prep_value(ip_address, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _attach_sql(connection.vendor),
            [session.pk, device.pk, moment, moment, address, session.pk, device.pk],
        )
        attached = cursor.rowcount
    if not attached:
        if not _usable(device).exists():
            raise DeviceRevoked()
        raise JoinRefused("no_active_session", "That session has ended.")
    announce_counts(session_id=session.pk, course_id=session.course_id)


def join_by_code(
    *, device: Device, code: object, ip_address: str | None = None, now: datetime | None = None
) -> NetworkSession:
    """Join the active session whose current or previous code is `code`.

    Raises JoinRefused with invalid_code, not_enrolled, no_active_session or
    rate_limited. Only invalid codes count towards the limit.
    """
    now = now or timezone.now()
    if is_rate_limited(device=device):
        raise JoinRefused("rate_limited", "Too many wrong codes; wait a minute and try again.")
    session = (
        codes.session_for_code(code, student_id=device.student_id)
        if isinstance(code, str)
        else None
    )
    if session is None:
        enrolled_active = NetworkSession.objects.filter(
            is_active=True, course__enrollments__student_id=device.student_id
        ).exists()
        if not enrolled_active:
            raise JoinRefused("no_active_session", "None of your courses has a session running.")
        _count_bad_code(device)
        raise JoinRefused("invalid_code", "That code is not valid; check the lecturer's screen.")
    if not session.student_enrolled:
        raise JoinRefused("not_enrolled", f"You are not enrolled in {session.course_code}.")
    _attach(device=device, session=session, ip_address=ip_address, now=now)
    return session


def _session_to_reattach(*, session_id: int, device: Device) -> NetworkSession | None:
    """The session with its `course_code`, and `device_joined`: whether `device` joined it.

    Every device re-attaches at once after a server restart, hence one statement.
    """
    connected = ConnectedDevice._meta.db_table
    return codes.session_look_up(
        flag="device_joined",
        exists=f"SELECT 1 FROM {connected} cd WHERE cd.session_id = s.id AND cd.device_id = %s",
        where="s.id = %s",
        params=[device.pk, session_id],
    )


def join_by_session(
    *,
    device: Device,
    session_id: object,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> NetworkSession:
    """Re-attach to a session this device already joined (a reconnect after the code rotated)."""
    now = now or timezone.now()
    if not isinstance(session_id, int) or isinstance(session_id, bool):
        raise JoinRefused("invalid_code", "session must be a session id.")
    session = _session_to_reattach(session_id=session_id, device=device)
    if session is None or not session.is_active:
        raise JoinRefused("no_active_session", "That session is not running.")
    if not session.device_joined:
        raise JoinRefused(
            "invalid_code", "This device has not joined that session; enter the code."
        )
    _attach(device=device, session=session, ip_address=ip_address, now=now)
    return session


def _touch(device: Device, now: datetime) -> None:
    if not _usable(device).update(last_used_at=now):
        raise DeviceRevoked()


def heartbeat_due(*, last_written: datetime | None, now: datetime) -> bool:
    return last_written is None or now - last_written >= timedelta(seconds=heartbeat_seconds())


def heartbeat(
    *,
    device: Device,
    session_id: int | None,
    last_written: datetime | None,
    now: datetime | None = None,
) -> datetime | None:
    """Record that `device` is alive, writing at most once per heartbeat interval.

    Between writes it only reads whether the device is still usable.

    Returns the time of the last write (to pass back next time). Raises
    DeviceRevoked when the device may no longer be used.
    """
    now = now or timezone.now()
    if not heartbeat_due(last_written=last_written, now=now):
        # No write, but one read: a revoked device must not get another pong.
        if not _usable(device).exists():
            raise DeviceRevoked()
        return last_written
    if session_id is None:
        # A device between sessions (its hello, for one): one statement, no
        # transaction to open and commit around it.
        _touch(device, now)
        return now
    with transaction.atomic():
        _touch(device, now)
        rows = ConnectedDevice.objects.filter(
            session_id=session_id, device=device, session__is_active=True
        )
        # A device the sweep gave up on comes back: count it again.
        revived = rows.filter(is_connected=False).update(
            is_connected=True, disconnected_at=None, last_seen_at=now
        )
        if revived:
            _counts_changed(session_id)
        else:
            rows.update(last_seen_at=now)
    return now


def leave(*, device: Device, session_id: int, now: datetime | None = None) -> bool:
    """Mark `device` gone from the session (its row and first join stay); True if it was there."""
    now = now or timezone.now()
    with transaction.atomic():
        left = ConnectedDevice.objects.filter(
            session_id=session_id, device=device, is_connected=True
        ).update(is_connected=False, disconnected_at=now, last_seen_at=now)
        if left:
            _counts_changed(session_id)
    return bool(left)
