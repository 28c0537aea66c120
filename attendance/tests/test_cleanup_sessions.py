import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session
from attendance.tests.builders import join
from attendance.tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_sessions", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_session(course, students, lecturer):
    started = timezone.now() - timedelta(hours=5)
    session, _ = start_session(course=course, by=lecturer, now=started)
    join(session, students[0], started + timedelta(minutes=1))
    return session


@pytest.fixture
def fresh_session(other_course, make_students, other_lecturer):
    make_students(3, course=other_course, prefix="H")
    session, _ = start_session(course=other_course, by=other_lecturer)
    return session


def test_it_ends_sessions_older_than_the_limit_and_reports_them(old_session, fresh_session):
    out = run()
    assert "1 sessions older than 4 h." in out
    assert "MATH101" in out and str(old_session.date) in out and "age 5h 00m" in out
    assert "Ended 1 session(s), wrote 5 attendance record(s)" in out
    old_session.refresh_from_db()
    fresh_session.refresh_from_db()
    assert not old_session.is_active and old_session.end_reason == "expired"
    assert fresh_session.is_active
    assert AttendanceRecord.objects.filter(session=old_session, status="present").count() == 1


def test_a_dry_run_lists_and_changes_nothing(old_session):
    out = run("--dry-run")
    assert "MATH101" in out
    assert "Dry run: would end 1 session(s)" in out and "Nothing was changed" in out
    old_session.refresh_from_db()
    assert old_session.is_active
    assert not AttendanceRecord.objects.exists()


def test_hours_sets_the_limit(old_session):
    assert "0 sessions older than 6 h." in run("--hours", "6")
    old_session.refresh_from_db()
    assert old_session.is_active


def test_force_ends_every_active_session(old_session, fresh_session):
    out = run("--force")
    assert "2 active sessions." in out and "Ended 2 session(s), wrote 8 attendance" in out
    assert not NetworkSession.objects.filter(is_active=True).exists()
    assert set(NetworkSession.objects.values_list("end_reason", flat=True)) == {"forced"}


def test_force_with_dry_run_changes_nothing(old_session, fresh_session):
    assert "would end 2 session(s)" in run("--force", "--dry-run")
    assert NetworkSession.objects.filter(is_active=True).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loop", "--force"], "--loop cannot be combined"),
        (["--interval", "5"], "--interval only makes sense with --loop"),
        (["--hours", "-1"], "hours must be from 0 to 878400"),
        (["--hours", "99999999999"], "hours must be from 0 to 878400"),
        (["--hours", "abc"], "is not a whole number"),
        (["--loop", "--interval", "0"], "between 0 and 86400"),
    ],
)
@pytest.mark.django_db
def test_it_rejects_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.parametrize("hours", ["-1", "abc", "99999999999"])
def test_a_bad_hours_value_exits_with_code_2_and_a_clear_message(hours):
    proc = subprocess.run(
        [sys.executable, "manage.py", "cleanup_sessions", "--hours", hours],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "argument --hours" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- the sweeper loop, as a real process receiving real signals ---------------------------


SETUP_EXPIRED_SESSION = """
from datetime import timedelta
from django.utils import timezone
from attendance.models import Course, Enrollment, Student
from attendance.sessions import start_session
course = Course.objects.create(code="LOOP1", title="Loop")
for i in range(3):
    s = Student.objects.create(student_number=f"L{i}", first_name="L", last_name=str(i))
    Enrollment.objects.create(course=course, student=s)
start_session(course=course, by=None, now=timezone.now() - timedelta(hours=9))
"""


def _database_with(migrated_sqlite, tmp_path, setup: str, **env: str) -> tuple[Path, dict]:
    """A copy of the migrated database, `setup` run against it; its path and environment."""
    db_path = tmp_path / "db.sqlite3"
    shutil.copy(migrated_sqlite, db_path)
    env = {**subprocess_env(db_path), **env}
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", setup],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    return db_path, env


def _start_loop(env: dict, interval: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "cleanup_sessions", "--loop", "--interval", interval],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_loop_sweeps_and_stops_cleanly_on_a_signal(migrated_sqlite, tmp_path, signum):
    db_path, env = _database_with(migrated_sqlite, tmp_path, SETUP_EXPIRED_SESSION)
    proc = _start_loop(env, "0.5")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen = []
    try:
        while not any("ended 1 expired" in line for line in seen):
            seen.append(lines.get(timeout=30))
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert "Sweeper started: every 0.5 s" in output
    assert "wrote 3 record(s)" in output
    assert f"Received {signum.name}. Sweeper stopped after" in output
    assert "Traceback" not in output
    with sqlite3.connect(db_path) as db:
        assert db.execute(
            "SELECT is_active, end_reason FROM attendance_networksession"
        ).fetchall() == [(0, "expired")]
        assert db.execute("SELECT COUNT(*) FROM attendance_attendancerecord").fetchone() == (3,)


SETUP_RUNNING_SESSION = """
from attendance.models import Course
from attendance.sessions import start_session
start_session(course=Course.objects.create(code="ROT1", title="Rotation"), by=None)
"""


def test_the_loop_rotates_join_codes_between_sweeps(migrated_sqlite, tmp_path):
    # No lecturer's socket is open anywhere: the sweeper alone rotates the code.
    db_path, env = _database_with(
        migrated_sqlite, tmp_path, SETUP_RUNNING_SESSION, ATTENDANCE_CODE_ROTATE_SECONDS="1"
    )
    with sqlite3.connect(db_path) as db:
        [(first,)] = db.execute("SELECT join_code FROM attendance_networksession").fetchall()
    proc = _start_loop(env, "3600")
    try:
        codes = [first]
        deadline = time.monotonic() + 30
        while len(codes) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            with sqlite3.connect(db_path) as db:
                [(code, previous)] = db.execute(
                    "SELECT join_code, previous_join_code FROM attendance_networksession"
                ).fetchall()
            if code != codes[-1]:
                assert previous == codes[-1]  # the code it replaced stays valid
                codes.append(code)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Two rotations within one sweep interval of an hour.
    assert len(codes) == 3, codes
    assert proc.returncode == 0
    assert "Traceback" not in output and "rotation failed" not in output


@pytest.mark.django_db(transaction=True)
def test_it_sends_the_counts_it_changed_before_it_returns(monkeypatch, fresh_session, students):
    """A device gone silent changes a running session's counts; the command's process
    would take the waiting push with it, so the command sends it before it returns."""
    from attendance import presence
    from realtime import broadcast

    join(fresh_session, students[0], timezone.now() - timedelta(minutes=5))  # silent
    sent = []
    monkeypatch.setattr(broadcast, "_send_now", lambda groups, message, **kw: sent.append(message))
    # Read by the publisher's thread (as on PostgreSQL), and slowly.
    monkeypatch.setattr(broadcast, "_reads_where_written", lambda: False)

    def slow_counts(readings):
        time.sleep(0.3)
        return [{"type": "session.counts", "session": r["session_id"]} for r in readings]

    monkeypatch.setattr(presence.counts_event, "many", slow_counts)
    run()
    assert [m["session"] for m in sent if m["type"] == "session.counts"] == [fresh_session.pk]
