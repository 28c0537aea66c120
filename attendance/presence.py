"""Device presence in class sessions: join, heartbeat, leave, and the sweep.

Presence must expire by itself: a socket's disconnect() is not called when a
server process is killed, so the sweep marks devices silent for
PRESENCE_SILENT_INTERVALS heartbeat intervals as disconnected.

The socket consumer is a thin caller: it translates JoinRefused into an error
frame and DeviceRevoked into close code 4403.
"""

import contextlib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from attendance import codes, roster
from attendance.counters import read_count, read_counts, try_count_up, try_count_up_many
from attendance.models import (
    AttendanceRecord,
    ConnectedDevice,
    Course,
    Device,
    Enrollment,
    NetworkSession,
    Student,
)
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


@functools.cache
def heartbeat_seconds() -> int:
    # Cached: a device socket asks on every ping, and a Django setting is a
    # lazy object's attribute. Forgotten when a test overrides the setting.
    return settings.ATTENDANCE_HEARTBEAT_SECONDS


@receiver(setting_changed)
def _forget_heartbeat_seconds(*, setting: str, **kwargs) -> None:
    if setting == "ATTENDANCE_HEARTBEAT_SECONDS":
        heartbeat_seconds.cache_clear()


def silent_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=heartbeat_seconds() * PRESENCE_SILENT_INTERVALS)


def silent_devices(*, now: datetime) -> QuerySet[ConnectedDevice]:
    return ConnectedDevice.objects.filter(is_connected=True, last_seen_at__lt=silent_cutoff(now))


def in_writers_order(rows: QuerySet[ConnectedDevice]) -> QuerySet[ConnectedDevice]:
    """`rows`, to update, locked first in (session, device) order: the order every writer of
    these rows takes them in (see _update_rows_sql). One statement with the update."""
    return ConnectedDevice.objects.filter(
        pk__in=rows.order_by("session_id", "device_id").select_for_update(of=("self",)).values("pk")
    )


def sweep_silent_devices(*, now: datetime) -> int:
    """Mark devices silent for 3 heartbeat intervals as disconnected; return how many."""
    with transaction.atomic():
        silent = silent_devices(now=now)
        touched = list(silent.values_list("session_id", "session__course_id").distinct())
        swept = in_writers_order(silent).update(is_connected=False, disconnected_at=now)
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
    try_count_up(_bad_code_key(device), timeout=BAD_CODE_WINDOW_SECONDS)


# --- Join, heartbeat, leave -------------------------------------------------------------


def counts_events(readings: list[dict]) -> list[dict]:
    """session.counts for several sessions ({session_id, course_id} each), read now:
    two queries for all of them."""
    # The versions are taken before reading, so a later version always comes
    # from a read that saw every earlier commit; a subscriber fed by several
    # processes keeps the newest. Without the cache (Redis restarting) a
    # reading goes out unversioned, and subscribers take it as it comes.
    versions = try_count_up_many(
        [f"counts-version:{int(r['session_id'])}" for r in readings], timeout=86400
    )
    counts = session_counts(
        [NetworkSession(pk=r["session_id"], course_id=r["course_id"]) for r in readings]
    )
    return [
        {
            "type": "session.counts",
            "course": r["course_id"],
            "session": r["session_id"],
            **counts[r["session_id"]].as_dict(),
            "version": version,
        }
        for r, version in zip(readings, versions, strict=True)
    ]


@broadcast.reads_many(counts_events)
def counts_event(*, session_id: int, course_id: int) -> dict:
    """The session.counts event, read from the database now."""
    return counts_events([{"session_id": session_id, "course_id": course_id}])[0]


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


# --- Joins, one device or many at once ---------------------------------------------------
# A class starting, or reconnecting after a restart, sends thousands of joins
# within seconds. Each server process hands them over in batches
# (realtime/batching.py), and a batch costs the same few statements as one
# join: the look-ups for all of them, then one INSERT ... SELECT.


@dataclass(frozen=True)
class JoinRequest:
    """One device's join: by `code`, or (without one) a re-attach to `session_id`."""

    device: Device
    code: object = None
    session_id: object = None
    ip_address: str | None = None

    @property
    def by_code(self) -> bool:
        return self.code is not None


JoinOutcome = NetworkSession | JoinRefused | DeviceRevoked


def _values(rows: int, columns: int, casts: tuple[str, ...] | None) -> str:
    """`(%s, %s), (%s, %s)` for a VALUES list, with PostgreSQL casts on the first row."""
    first = ", ".join(f"%s::{cast}" for cast in casts) if casts else ", ".join(["%s"] * columns)
    other = ", ".join(["%s"] * columns)
    return ", ".join([f"({first})", *[f"({other})"] * (rows - 1)])


@functools.cache
def _attach_sql(vendor: str, rows: int) -> str:
    connected = ConnectedDevice._meta.db_table
    session = NetworkSession._meta.db_table
    device = Device._meta.db_table
    student = Student._meta.db_table
    # PostgreSQL: the end of a session holds its row FOR UPDATE and a
    # revocation updates the device's row; these locks make the insert wait
    # for either to commit and then see what it wrote. SQLite runs one writer
    # at a time, so the statement alone is atomic there.
    postgres = vendor == "postgresql"
    session_lock, device_lock = (" FOR KEY SHARE", " FOR SHARE OF d") if postgres else ("", "")
    values = _values(rows, 3, ("bigint", "bigint", "inet") if postgres else None)
    return f"""
        WITH v(session_id, device_id, ip_address) AS (VALUES {values})
        INSERT INTO {connected}
            (session_id, device_id, connected_at, last_seen_at, is_connected, ip_address)
        SELECT v.session_id, v.device_id, %s, %s, TRUE, v.ip_address
        FROM v
        WHERE EXISTS (
                SELECT 1 FROM {session} s WHERE s.id = v.session_id AND s.is_active{session_lock}
            )
            AND EXISTS (
                SELECT 1 FROM {device} d JOIN {student} st ON st.id = d.student_id
                WHERE d.id = v.device_id AND d.is_active AND st.is_active{device_lock}
            )
        ORDER BY v.session_id, v.device_id
        ON CONFLICT (session_id, device_id) DO UPDATE SET
            last_seen_at = excluded.last_seen_at,
            is_connected = TRUE,
            disconnected_at = NULL,
            ip_address = excluded.ip_address
        RETURNING session_id, device_id
    """


def _attach_many(
    pairs: dict[tuple[int, int], str | None], *, now: datetime
) -> set[tuple[int, int]]:
    """Upsert the (session, device) rows; the pairs written.

    One statement that writes only while the session is active and the device
    usable, so a join racing the session's end is either in its register or
    refused, never left connected to an ended session. A first join sets
    connected_at, a rejoin keeps it.
    """
    field = ConnectedDevice._meta.get_field
    moment = field("connected_at").get_db_prep_value(now, connection)
    params: list = []
    for (session_id, device_id), ip_address in pairs.items():
        address = field("ip_address").get_db_prep_value(ip_address, connection)
        params += [session_id, device_id, address]
    with connection.cursor() as cursor:
        cursor.execute(_attach_sql(connection.vendor, len(pairs)), [*params, moment, moment])
        return {(int(s), int(d)) for s, d in cursor.fetchall()}


@functools.cache
def _look_up_sql(vendor: str, rows: int) -> str:
    session = NetworkSession._meta.db_table
    course = Course._meta.db_table
    enrollment = Enrollment._meta.db_table
    values = _values(rows, 2, ("text", "bigint") if vendor == "postgresql" else None)
    # A previous code is not unique: after the current codes, the newest
    # rotation is the one a student most plausibly read off the screen.
    return f"""
        WITH v(code, student_id) AS (VALUES {values})
        SELECT v.code, v.student_id, s.id, s.course_id, c.code,
            EXISTS (
                SELECT 1 FROM {enrollment} e
                WHERE e.course_id = s.course_id AND e.student_id = v.student_id
            ) AS enrolled,
            CASE WHEN s.join_code = v.code THEN 0 ELSE 1 END AS rank
        FROM v
        JOIN {session} s
            ON s.is_active AND (s.join_code = v.code OR s.previous_join_code = v.code)
        JOIN {course} c ON c.id = s.course_id
        ORDER BY rank, s.code_rotated_at DESC
    """


def _sessions_for_codes(
    wanted: set[tuple[str, int]],
) -> dict[tuple[str, int], tuple[NetworkSession, bool]]:
    """For each (code, student): the active session the code opens (its current code, else the
    newest whose previous code it is) and whether the student is enrolled in its course.

    One statement for the whole batch: the ORM spent about four times as long
    building a look-up as PostgreSQL spent running it.
    """
    if not wanted:
        return {}
    params = [value for pair in sorted(wanted) for value in pair]
    found: dict[tuple[str, int], tuple[NetworkSession, bool]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_look_up_sql(connection.vendor, len(wanted)), params)
        for code, student_id, session_id, course_id, course_code, enrolled, _rank in cursor:
            if (code, student_id) not in found:
                session = NetworkSession(pk=session_id, course_id=course_id, is_active=True)
                session.course_code = course_code
                found[code, student_id] = (session, bool(enrolled))
    return found


def _limited_devices(devices: list[Device]) -> set[int]:
    """The devices locked out by wrong codes: one cache round trip for all of them."""
    if not devices:
        return set()
    keys = {_bad_code_key(device): device.pk for device in devices}
    counts = read_counts(list(keys))
    return {keys[key] for key, count in counts.items() if count >= BAD_CODES_PER_MINUTE}


def join_many(requests: list[JoinRequest], *, now: datetime | None = None) -> list[JoinOutcome]:
    """Every request's outcome, in order: its session (with `course_code`) or the refusal.

    A join by code needs an active session whose current or previous code it
    is, in a course the student is enrolled in; wrong codes count towards the
    device's limit (rate_limited), and a student none of whose courses is
    running hears no_active_session instead. A re-attach needs a running
    session the device already joined. A constant number of statements
    whatever the number of requests.
    """
    now = now or timezone.now()
    outcomes: list[JoinOutcome | None] = [None] * len(requests)
    by_code = [i for i, r in enumerate(requests) if r.by_code]
    reattach = [i for i, r in enumerate(requests) if not r.by_code]

    limited = _limited_devices([requests[i].device for i in by_code])
    sessions = _sessions_for_codes(
        {
            (r.code, r.device.student_id)
            for i in by_code
            if codes.is_well_formed((r := requests[i]).code)
        }
    )
    wanted: dict[int, NetworkSession] = {}
    wrong: list[int] = []
    for i in by_code:
        request = requests[i]
        found_session = sessions.get((request.code, request.device.student_id))
        if request.device.pk in limited:
            outcomes[i] = JoinRefused(
                "rate_limited", "Too many wrong codes; wait a minute and try again."
            )
        elif found_session is None:
            wrong.append(i)
        elif not found_session[1]:
            outcomes[i] = JoinRefused(
                "not_enrolled", f"You are not enrolled in {found_session[0].course_code}."
            )
        else:
            wanted[i] = found_session[0]
    if wrong:
        running = set(
            NetworkSession.objects.filter(
                is_active=True,
                course__enrollments__student_id__in={requests[i].device.student_id for i in wrong},
            ).values_list("course__enrollments__student_id", flat=True)
        )
        for i in wrong:
            device = requests[i].device
            if device.student_id not in running:
                outcomes[i] = JoinRefused(
                    "no_active_session", "None of your courses has a session running."
                )
            else:
                _count_bad_code(device)
                outcomes[i] = JoinRefused(
                    "invalid_code", "That code is not valid; check the lecturer's screen."
                )

    ids = {
        requests[i].session_id
        for i in reattach
        if isinstance(requests[i].session_id, int) and not isinstance(requests[i].session_id, bool)
    }
    found: dict[int, NetworkSession] = {}
    joined: set[tuple[int, int]] = set()
    if ids:
        # The common case, a device coming back to its session, in one query:
        # the rows it already has, with their session.
        for session_id, device_id, active, course_id, course_code in ConnectedDevice.objects.filter(
            session_id__in=ids, device_id__in={requests[i].device.pk for i in reattach}
        ).values_list(
            "session_id", "device_id", "session__is_active", "session__course_id",
            "session__course__code",
        ):  # fmt: skip
            joined.add((session_id, device_id))
            session = NetworkSession(pk=session_id, course_id=course_id, is_active=active)
            session.course_code = course_code
            found[session_id] = session
        if unknown := ids - found.keys():
            # Sessions this batch's devices never joined: running or not, they say which.
            found.update(
                (s.pk, s)
                for s in NetworkSession.objects.filter(pk__in=unknown).annotate(
                    course_code=F("course__code")
                )
            )
    for i in reattach:
        request = requests[i]
        session_id = request.session_id
        if not isinstance(session_id, int) or isinstance(session_id, bool):
            outcomes[i] = JoinRefused("invalid_code", "session must be a session id.")
        elif (session := found.get(session_id)) is None or not session.is_active:
            outcomes[i] = JoinRefused("no_active_session", "That session is not running.")
        elif (session_id, request.device.pk) not in joined:
            outcomes[i] = JoinRefused(
                "invalid_code", "This device has not joined that session; enter the code."
            )
        else:
            wanted[i] = session

    if wanted:
        pairs = {(s.pk, requests[i].device.pk): requests[i].ip_address for i, s in wanted.items()}
        attached = _attach_many(pairs, now=now)
        missing = {
            requests[i].device.pk
            for i, s in wanted.items()
            if (s.pk, requests[i].device.pk) not in attached
        }
        usable = (
            set(
                Device.objects.filter(
                    pk__in=missing, is_active=True, student__is_active=True
                ).values_list("pk", flat=True)
            )
            if missing
            else set()
        )
        for i, session in wanted.items():
            device = requests[i].device
            if (session.pk, device.pk) in attached:
                outcomes[i] = session
            elif device.pk not in usable:
                outcomes[i] = DeviceRevoked()
            else:
                outcomes[i] = JoinRefused("no_active_session", "That session has ended.")
        for session in {s.pk: s for s in wanted.values()}.values():
            if any(pair[0] == session.pk for pair in attached):
                announce_counts(session_id=session.pk, course_id=session.course_id)
    return outcomes


def _one(outcome: JoinOutcome) -> NetworkSession:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def join_by_code(
    *, device: Device, code: object, ip_address: str | None = None, now: datetime | None = None
) -> NetworkSession:
    """Join the active session whose current or previous code is `code` (see join_many).

    Raises JoinRefused with invalid_code, not_enrolled, no_active_session or
    rate_limited, or DeviceRevoked. Only invalid codes count towards the limit.
    """
    code = code if isinstance(code, str) else ""
    request = JoinRequest(device=device, code=code, ip_address=ip_address)
    return _one(join_many([request], now=now)[0])


def join_by_session(
    *,
    device: Device,
    session_id: object,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> NetworkSession:
    """Re-attach to a session this device already joined (a reconnect after the code rotated)."""
    request = JoinRequest(device=device, session_id=session_id, ip_address=ip_address)
    return _one(join_many([request], now=now)[0])


# --- Heartbeats, one device or many at once -------------------------------------------------


@dataclass(frozen=True)
class HeartbeatRequest:
    device: Device
    session_id: int | None
    last_written: datetime | None


@functools.cache
def _touch_sql(vendor: str, rows: int) -> str:
    device = Device._meta.db_table
    student = Student._meta.db_table
    # PostgreSQL takes the ids as one array: binding thousands of separate
    # parameters cost more than the statement.
    ids = "= ANY(%s::bigint[])" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * rows)})"
    return f"""
        UPDATE {device} SET last_used_at = %s
        WHERE id {ids} AND is_active AND EXISTS (
            SELECT 1 FROM {student} st WHERE st.id = {device}.student_id AND st.is_active
        )
        RETURNING id
    """


def _pairs_sql(vendor: str, rows: int) -> str:
    """(session_id, device_id) rows for a CTE: two arrays on PostgreSQL, VALUES elsewhere."""
    if vendor == "postgresql":
        return "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
    return f"VALUES {_values(rows, 2, None)}"


def _pairs_params(pairs: list[tuple[int, int]]) -> list:
    """The parameters _pairs_sql(vendor, len(pairs)) takes for `pairs`."""
    if connection.vendor == "postgresql":
        return [_bigint_array(s for s, _d in pairs), _bigint_array(d for _s, d in pairs)]
    return [value for pair in pairs for value in pair]


def _bigint_array(values: Iterable[int]) -> str:
    """Integers as one PostgreSQL array literal, for a `%s::bigint[]` parameter.

    psycopg adapts a list element by element in Python (about 1.5 us each, most
    of a heartbeat batch's own time); the literal is one string.
    """
    return "{" + ",".join(map(str, values)) + "}"


@functools.cache
def _seen_sql(vendor: str, rows: int, *, revive: bool) -> str:
    session = NetworkSession._meta.db_table
    # A device the sweep gave up on comes back (revive): counted again.
    changes = "is_connected = TRUE, disconnected_at = NULL, " if revive else ""
    return _update_rows_sql(
        vendor,
        _pairs_sql(vendor, rows),
        where=f"""{{c}}.is_connected = {"FALSE" if revive else "TRUE"}
            AND EXISTS (SELECT 1 FROM {session} s WHERE s.id = {{c}}.session_id AND s.is_active)""",
        changes=f"{changes}last_seen_at = %s",
        # Only a revival changes a count; the rows merely seen return nothing.
        returning="session_id" if revive else "",
    )


def _update_rows_sql(vendor: str, pairs: str, *, where: str, changes: str, returning: str) -> str:
    """UPDATE the (session, device) rows `pairs` lists that match `where` (its `{c}`: the row).

    On PostgreSQL the rows are locked first in (session, device) order, the order
    every writer of these rows takes them in (the end of a session, the sweep,
    joins, leaves, heartbeats): two of them writing the same rows at once wait
    for each other instead of each holding a row the other needs (a deadlock,
    one of them failing). SQLite runs one writer at a time. `returning` "": no rows back.
    """
    connected = ConnectedDevice._meta.db_table
    if vendor == "postgresql":
        returning = ", ".join(f"{connected}.{column}" for column in returning.split(", ") if column)
        return f"""
            WITH v(session_id, device_id) AS ({pairs}),
            target AS (
                SELECT c.id FROM {connected} c
                JOIN v ON v.session_id = c.session_id AND v.device_id = c.device_id
                WHERE {where.format(c="c")}
                ORDER BY c.session_id, c.device_id
                FOR UPDATE OF c
            )
            UPDATE {connected} SET {changes} FROM target WHERE {connected}.id = target.id
            {"RETURNING " + returning if returning else ""}
        """
    return f"""
        WITH v(session_id, device_id) AS ({pairs})
        UPDATE {connected} SET {changes}
        WHERE EXISTS (
                SELECT 1 FROM v
                WHERE v.session_id = {connected}.session_id AND v.device_id = {connected}.device_id
            )
            AND {where.format(c=connected)}
        {"RETURNING " + returning if returning else ""}
    """


def heartbeat_many(
    requests: list[HeartbeatRequest], *, now: datetime | None = None
) -> list[datetime | DeviceRevoked]:
    """Record that the devices are alive, each at most once per heartbeat interval.

    Returns, per request, the time of its last write (to pass back next time)
    or DeviceRevoked. A write checks in the same statement that the device may
    still be used; between writes nothing is read, since a revocation is
    pushed to the socket at once and this check is the backstop. At most three
    statements, in one transaction, whatever the number of devices.
    """
    now = now or timezone.now()
    every = timedelta(seconds=heartbeat_seconds())
    due = [r.last_written is None or now - r.last_written >= every for r in requests]
    writing = [r for r, is_due in zip(requests, due, strict=True) if is_due]
    usable: set[int] = set()
    postgres = connection.vendor == "postgresql"
    if writing:
        ids = sorted({r.device.pk for r in writing})
        # One transaction when presence rows are written too; a lone touch needs none.
        in_session = any(r.session_id for r in writing)
        with (
            transaction.atomic() if in_session else contextlib.nullcontext(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                _touch_sql(connection.vendor, len(ids)),
                [now, _bigint_array(ids)] if postgres else [now, *ids],
            )
            usable = {row[0] for row in cursor.fetchall()}
            pairs = sorted(
                {
                    (r.session_id, r.device.pk)
                    for r in writing
                    if r.session_id and r.device.pk in usable
                }
            )
            if pairs:
                params = [*_pairs_params(pairs), now]
                cursor.execute(
                    _seen_sql(connection.vendor, 0 if postgres else len(pairs), revive=True), params
                )
                revived = {row[0] for row in cursor.fetchall()}
                cursor.execute(
                    _seen_sql(connection.vendor, 0 if postgres else len(pairs), revive=False),
                    params,
                )
                for session_id in revived:
                    _counts_changed(session_id)
    return [
        (now if r.device.pk in usable else DeviceRevoked()) if is_due else r.last_written
        for r, is_due in zip(requests, due, strict=True)
    ]


def heartbeat(
    *,
    device: Device,
    session_id: int | None,
    last_written: datetime | None,
    now: datetime | None = None,
) -> datetime | None:
    """Record that `device` is alive, writing at most once per heartbeat interval (see
    heartbeat_many). Returns the time of the last write; raises DeviceRevoked."""
    request = HeartbeatRequest(device=device, session_id=session_id, last_written=last_written)
    outcome = heartbeat_many([request], now=now)[0]
    if isinstance(outcome, DeviceRevoked):
        raise outcome
    return outcome


# --- Leaves, one device or many at once ---------------------------------------------------
# A lecture hall's Wi-Fi dropping closes hundreds of sockets at once, and
# their devices are back a moment later: the leaves go in batches too, so the
# hellos of the reconnect do not queue behind hundreds of transactions.


@dataclass(frozen=True)
class LeaveRequest:
    device: Device
    session_id: int


@functools.cache
def _left_sql(vendor: str, rows: int) -> str:
    return _update_rows_sql(
        vendor,
        _pairs_sql(vendor, rows),
        where="{c}.is_connected = TRUE",
        changes="is_connected = FALSE, disconnected_at = %s, last_seen_at = %s",
        returning="session_id, device_id",
    )


def leave_many(requests: list[LeaveRequest], *, now: datetime | None = None) -> list[bool]:
    """Mark the devices gone from their sessions (rows and first joins stay).

    Per request, True if the device was there. One UPDATE for the batch, and
    one count push per session that changed, in one transaction.
    """
    now = now or timezone.now()
    pairs = sorted({(r.session_id, r.device.pk) for r in requests})
    if not pairs:
        return []
    rows = 0 if connection.vendor == "postgresql" else len(pairs)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_left_sql(connection.vendor, rows), [*_pairs_params(pairs), now, now])
        left = {(int(session_id), int(device_id)) for session_id, device_id in cursor.fetchall()}
        for session_id in sorted({session_id for session_id, _d in left}):
            _counts_changed(session_id)
    return [(r.session_id, r.device.pk) in left for r in requests]


def leave(*, device: Device, session_id: int, now: datetime | None = None) -> bool:
    """Mark `device` gone from the session (its row and first join stay); True if it was there."""
    return leave_many([LeaveRequest(device=device, session_id=session_id)], now=now)[0]


# --- Reads for a device that may have missed an event ------------------------------------


def session_is_active(*, session_id: int) -> bool:
    return NetworkSession.objects.filter(pk=session_id, is_active=True).exists()


def session_status(*, session_id: int, student_id: int) -> str:
    """The student's status in the session's register ("absent" when none was written)."""
    status = (
        AttendanceRecord.objects.filter(session_id=session_id, student_id=student_id)
        .values_list("status", flat=True)
        .first()
    )
    return status or "absent"
