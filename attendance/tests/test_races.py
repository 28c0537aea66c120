"""Races decided by PostgreSQL: row locks and conditional unique constraints under threads."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from attendance import presence, registers
from attendance.devices import DeviceLimitReached, register_device, revoke_device
from attendance.models import AttendanceRecord, ConnectedDevice, Device, NetworkSession
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join
from conftest import in_thread, run_at_once, wait_until_blocked_on_a_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_starts_make_one_session_and_both_get_it(course, lecturer, other_lecturer):
    users = [lecturer, other_lecturer]
    results = run_at_once(2, lambda i: start_session(course=course, by=users[i]))
    assert not any(isinstance(r, Exception) for r in results), results
    assert NetworkSession.objects.filter(course=course).count() == 1
    session = NetworkSession.objects.get()
    assert {r[0].pk for r in results} == {session.pk}
    assert sorted(r[1] for r in results) == [False, True]


def test_ten_concurrent_ends_write_one_register_and_give_ten_equal_answers(course, students):
    session, _ = start_session(course=course, by=None)
    join(session, students[0], session.started_at)
    results = run_at_once(10, lambda i: end_session(session=session))
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(set(results)) == 1
    assert results[0].records == 5 and results[0].present == 1
    assert AttendanceRecord.objects.filter(session=session).count() == 5
    session.refresh_from_db()
    assert not session.is_active


def test_concurrent_registrations_at_the_limit_never_make_a_third_device(students, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    register_device(student=students[0], name="first")
    results = run_at_once(4, lambda i: register_device(student=students[0], name=f"race {i}"))
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, DeviceLimitReached) for r in results) == 3
    assert Device.objects.filter(student=students[0], is_active=True).count() == 2


def test_a_join_racing_the_end_of_its_session_waits_and_is_refused(course, students):
    session, _ = start_session(course=course, by=None)
    device, _token = register_device(student=students[0], name="phone")
    with transaction.atomic():
        # The end has taken its row lock; the join arrives while it writes the register.
        NetworkSession.objects.select_for_update().get(pk=session.pk)
        thread, outcome = in_thread(
            lambda: presence.join_by_code(device=device, code=session.join_code)
        )
        wait_until_blocked_on_a_lock(thread, outcome)
        end_session(session=session)
    thread.join(timeout=10)
    assert isinstance(outcome.get("error"), presence.JoinRefused), outcome
    assert outcome["error"].code == "no_active_session"
    # Nothing is left connected to the ended session, and the register says absent.
    assert not ConnectedDevice.objects.filter(session=session).exists()
    assert AttendanceRecord.objects.get(session=session, student=students[0]).status == "absent"


def test_a_join_racing_the_revocation_of_its_device_waits_and_is_refused(course, students):
    session, _ = start_session(course=course, by=None)
    device, _token = register_device(student=students[0], name="phone")
    with transaction.atomic():
        revoke_device(device=Device.objects.get(pk=device.pk))
        thread, outcome = in_thread(
            lambda: presence.join_by_code(device=device, code=session.join_code)
        )
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=10)
    assert isinstance(outcome.get("error"), presence.DeviceRevoked), outcome
    assert not ConnectedDevice.objects.filter(session=session).exists()


def test_joins_racing_an_end_are_each_in_the_register_or_refused(course, students):
    session, _ = start_session(course=course, by=None)
    devices = [register_device(student=s, name="phone")[0] for s in students]

    def work(i):
        if i == len(devices):
            return end_session(session=session)
        return presence.join_by_code(device=devices[i], code=session.join_code)

    results = run_at_once(len(devices) + 1, work)
    joined = {
        d.student_id
        for d, r in zip(devices, results[:-1], strict=True)
        if isinstance(r, NetworkSession)
    }
    refused = [r for r in results[:-1] if not isinstance(r, NetworkSession)]
    assert all(isinstance(r, presence.JoinRefused) for r in refused), refused
    records = dict(
        AttendanceRecord.objects.filter(session=session).values_list("student_id", "status")
    )
    assert {s for s, status in records.items() if status == "present"} == joined
    assert not ConnectedDevice.objects.filter(session=session, is_connected=True).exists()


def test_ending_a_session_and_its_stale_duplicate_at_once_never_deadlocks(course, students):
    """Each end locks sessions (newest first) before the students' standings.

    Ending today's session ends the course's older open one too; ending that
    older one at the same moment (the sweeper, an admin) used to lock the
    standings first and wait for today's end, which waited for it: a deadlock.
    """
    for round_ in range(12):
        yesterday = timezone.now() - timedelta(days=1, minutes=round_)
        stale = NetworkSession.objects.create(
            course=course,
            date=timezone.localdate(yesterday),
            started_at=yesterday,
            join_code=f"{round_:02d}1111",
            code_rotated_at=yesterday,
        )
        now = timezone.now()
        today = NetworkSession.objects.create(
            course=course,
            date=timezone.localdate(now),
            started_at=now,
            join_code=f"{round_:02d}2222",
            code_rotated_at=now,
        )
        sessions = [today, stale]
        results = run_at_once(2, lambda i, pair=sessions: end_session(session=pair[i]))
        assert not any(isinstance(r, Exception) for r in results), results
        for session in sessions:
            session.refresh_from_db()
            assert not session.is_active
            assert AttendanceRecord.objects.filter(session=session).count() == len(students)


@pytest.mark.parametrize("mark", ["one", "many"])
def test_a_mark_that_waited_for_the_records_lock_is_timed_when_it_was_applied(
    course, students, lecturer, mark
):
    session, _ = start_session(course=course, by=None)
    end_session(session=session)
    record = AttendanceRecord.objects.get(session=session, student=students[0])

    def mark_late():
        if mark == "one":
            return registers.mark_attendance(record=record, status="late", by=None, reason="bus")
        return registers.mark_many(
            session=session, student_ids=[students[0].pk], status="late", by=None, reason="bus"
        )

    with transaction.atomic():
        # Another change of the record has its lock; this mark arrives and waits.
        AttendanceRecord.objects.select_for_update().get(pk=record.pk)
        thread, outcome = in_thread(mark_late)
        wait_until_blocked_on_a_lock(thread, outcome)
        registers.mark_attendance(record=record, status="excused", by=lecturer, reason="note")
        released_at = timezone.now()
    thread.join(timeout=10)
    assert "error" not in outcome, outcome
    # The audit trail, read by time, tells the changes in the order they were applied.
    changes = list(record.changes.order_by("changed_at").values_list("to_status", "changed_at"))
    assert [to for to, _ in changes] == ["excused", "late"]
    record.refresh_from_db()
    assert record.status == "late"
    assert changes[1][1] >= released_at


def _waiting_for_locks(n: int, timeout: float = 30.0) -> None:
    """Return once `n` other connections wait for a lock."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= n:
                return
            time.sleep(0.02)
    raise AssertionError(f"{n} connections never waited for a lock")


def test_ending_a_session_while_its_devices_heartbeat_never_deadlocks(course, students):
    """The end marks every device of the session gone while a heartbeat batch writes some
    of them: both must take the rows in one order. Here the rows lie in the table in
    reverse (each rewritten, last first), which is the order a scan of the table takes;
    the end takes them by device. A third connection holds the last row, so that the
    heartbeat and the end each wait there with what they took before it."""
    first, last = students[0], students[1]
    session, _ = start_session(course=course, by=None)
    rows = [join(session, first, session.started_at), join(session, last, session.started_at)]
    for row in reversed(rows):
        ConnectedDevice.objects.filter(pk=row.pk).update(last_seen_at=session.started_at)
    requests = [
        presence.HeartbeatRequest(device=row.device, session_id=session.pk, last_written=None)
        for row in rows
    ]

    holding = threading.Event()

    def hold_the_last_row():
        with transaction.atomic():
            ConnectedDevice.objects.select_for_update().get(pk=rows[1].pk)
            holding.set()
            _waiting_for_locks(2)

    holder, held = in_thread(hold_the_last_row)
    assert holding.wait(10)
    heartbeat, beat = in_thread(lambda: presence.heartbeat_many(requests))
    _waiting_for_locks(1)
    end, ended = in_thread(lambda: end_session(session=session))
    for thread in (holder, heartbeat, end):
        thread.join(timeout=30)
    assert "error" not in held, held
    assert "error" not in beat, beat
    assert "error" not in ended, ended
    assert not ConnectedDevice.objects.filter(session=session, is_connected=True).exists()
