"""`cleanup_sessions --now ISO-TIME`: one whole sweep as if it were that time."""

import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from attendance import sweeper
from attendance.models import NetworkSession
from timetable.tests.builders import MONDAY, at

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    monkeypatch.setattr(sweeper, "close_old_connections", lambda: None)


def run(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_sessions", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_opens_and_ends_classes_as_if_it_were_that_time(course, students, make_meeting):
    make_meeting(course)
    out = run("--now", "2026-03-02T08:56")
    assert "Swept as of 2026-03-02 08:56 (UTC)." in out
    assert "classes opened: 1" in out
    session = NetworkSession.objects.get()
    assert session.started_at == at(MONDAY, 8, 56)
    out = run("--now", "2026-03-02T10:05:00+00:00")
    assert "classes ended: 1" in out and "class records: 5" in out
    assert run("--now", "2026-03-02T10:06").endswith("Nothing to do.\n")


@pytest.mark.django_db
def test_a_time_without_an_offset_is_school_time(course, make_meeting, settings):
    settings.TIME_ZONE = "Africa/Lagos"  # UTC+1
    make_meeting(course)
    assert "classes opened: 1" in run("--now", "2026-03-02T08:55")
    assert NetworkSession.objects.get().started_at.isoformat() == "2026-03-02T07:55:00+00:00"


@pytest.mark.django_db
def test_it_runs_the_other_sweep_jobs_too(course):
    mail.send_mail("Hello", "Body", "school@example.com", ["parent@example.com"])
    later = timezone.now() + timedelta(minutes=1)
    assert "mail sent: 1" in run("--now", later.isoformat())
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("flag", ["--loop", "--force", "--dry-run"])
def test_it_is_one_sweep_and_refuses_other_modes(flag):
    with pytest.raises(CommandError, match="--now runs one sweep"):
        run("--now", "2026-03-02T08:00", flag)


NOT_ISO = " is not an ISO time such as 2026-03-02T09:00"
FAR = ": choose a time from the years 1900 to 2999"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("yesterday", NOT_ISO),
        ("2026-13-01T09:00", NOT_ISO),
        ("09:00", NOT_ISO),
        ("0001-01-01T00:00", FAR),
        ("9999-12-31T23:59", FAR),
    ],
)
def test_a_bad_time_exits_with_code_2_and_a_one_line_message(value, says):
    proc = subprocess.run(
        [sys.executable, "manage.py", "cleanup_sessions", "--now", value],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert f"argument --now: {value!r}{says}" in proc.stderr
    assert "Traceback" not in proc.stderr
