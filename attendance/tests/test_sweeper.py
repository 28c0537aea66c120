import logging
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from attendance import sweeper
from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session
from attendance.tests.builders import join


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    # The sweeper closes stale connections between sweeps; inside a test's
    # transaction that would close the test's own connection.
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)


@pytest.mark.django_db
def test_one_sweep_supersedes_duplicates_expires_old_sessions_and_drops_silent_devices(
    course, students, other_course, make_students
):
    yesterday = timezone.now() - timedelta(days=1)
    duplicate = NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(yesterday),
        started_at=timezone.now() - timedelta(hours=1),
        join_code="123123",
        code_rotated_at=yesterday,
    )
    current = NetworkSession.objects.create(
        course=course,
        date=timezone.localdate(),
        started_at=timezone.now(),
        join_code="321321",
        code_rotated_at=timezone.now(),
    )
    silent = join(current, students[0], timezone.now() - timedelta(minutes=5))
    make_students(2, course=other_course, prefix="H")
    old, _ = start_session(course=other_course, by=None, now=timezone.now() - timedelta(hours=6))

    result = sweeper.sweep_once()

    assert result.counts() == {
        "superseded": 1,
        "expired": 1,
        "records": 7,
        "devices_disconnected": 1,
    }
    duplicate.refresh_from_db()
    old.refresh_from_db()
    current.refresh_from_db()
    silent.refresh_from_db()
    assert duplicate.end_reason == "superseded" and old.end_reason == "expired"
    assert current.is_active and not silent.is_connected
    assert AttendanceRecord.objects.filter(session=duplicate).count() == 5


@pytest.mark.django_db
def test_a_sweep_with_nothing_to_do_reports_no_work(course):
    start_session(course=course, by=None)
    assert not sweeper.sweep_once().had_work


def test_the_loop_survives_a_failed_sweep_and_stops_when_told(monkeypatch, caplog, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 0  # no rotation between the sweeps here
    stop = threading.Event()
    calls = []

    def flaky_sweep():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        stop.set()
        return sweeper.SweepResult(superseded=[], cleanup=sweeper.CleanupResult(dry_run=False))

    monkeypatch.setattr(sweeper, "sweep_once", flaky_sweep)
    with caplog.at_level(logging.ERROR, logger="rollcall.sweeper"):
        assert sweeper.run_until(stop, interval=0) == 2
    assert "Sweep failed" in caplog.text


def test_the_in_process_sweeper_stays_off_when_disabled(settings):
    settings.ATTENDANCE_IN_PROCESS_SWEEP = False
    assert sweeper.start_in_process_sweeper_if_enabled() is None
    settings.ATTENDANCE_IN_PROCESS_SWEEP = True
    settings.ATTENDANCE_SWEEP_SECONDS = 0
    assert sweeper.start_in_process_sweeper_if_enabled() is None


def _idle_sweep():
    return sweeper.SweepResult(superseded=[], cleanup=sweeper.CleanupResult(dry_run=False))


@pytest.mark.django_db
def test_the_loop_rotates_due_codes_between_sweeps(course, settings, monkeypatch):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    session, _ = start_session(course=course, by=None)
    NetworkSession.objects.filter(pk=session.pk).update(
        code_rotated_at=timezone.now() - timedelta(seconds=31)
    )
    stop = threading.Event()
    rotate = sweeper.rotate_due_codes

    def rotate_then_stop():
        rotated = rotate()
        stop.set()
        return rotated

    monkeypatch.setattr(sweeper, "sweep_once", _idle_sweep)
    monkeypatch.setattr(sweeper, "rotate_due_codes", rotate_then_stop)
    # One sweep an hour, yet the due code rotates before the next one.
    assert sweeper.run_until(stop, interval=3600) == 1
    rotated = NetworkSession.objects.get(pk=session.pk)
    assert rotated.previous_join_code == session.join_code
    assert rotated.join_code != session.join_code


def test_a_failed_rotation_does_not_stop_the_loop(monkeypatch, caplog):
    stop = threading.Event()
    calls = []

    def flaky_rotation():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        stop.set()
        return 0

    monkeypatch.setattr(sweeper, "sweep_once", _idle_sweep)
    monkeypatch.setattr(sweeper, "rotate_due_codes", flaky_rotation)
    monkeypatch.setattr(sweeper, "ROTATE_EVERY_SECONDS", 0.01)
    with caplog.at_level(logging.ERROR, logger="rollcall.sweeper"):
        assert sweeper.run_until(stop, interval=3600) == 1
    assert len(calls) == 2
    assert "Join-code rotation failed" in caplog.text


def test_a_database_away_for_a_while_is_reported_once_per_sweep(monkeypatch, caplog):
    stop = threading.Event()
    calls = []

    def away():
        calls.append(1)
        if len(calls) == 5:
            stop.set()
        raise RuntimeError("database restarting")

    monkeypatch.setattr(sweeper, "sweep_once", _idle_sweep)
    monkeypatch.setattr(sweeper, "rotate_due_codes", away)
    monkeypatch.setattr(sweeper, "ROTATE_EVERY_SECONDS", 0.01)
    with caplog.at_level(logging.ERROR, logger="rollcall.sweeper"):
        sweeper.run_until(stop, interval=3600)
    assert len(calls) == 5
    assert caplog.text.count("Join-code rotation failed") == 1
