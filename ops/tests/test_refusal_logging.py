"""A refused request is one warning line in the log, never a traceback."""

import logging

import pytest
from django.conf import settings

from attendance.models import Student


def formatted(record: logging.LogRecord) -> str:
    """The record as the project's console and file handlers write it."""
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    return formatter.format(record)


@pytest.fixture
def student_login(make_user, students):
    user = make_user("student")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    return user


def test_permission_denied_is_one_warning_line(client, student_login, caplog):
    client.force_login(student_login)
    with caplog.at_level(logging.INFO):
        assert client.post("/sessions/refresh/").status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    line = formatted(record)
    assert "\n" not in line
    assert line.endswith(
        # A student's login is refused before the view (accounts/student_pages.py).
        "Forbidden (Permission denied): /sessions/refresh/ (This page is not for students.)"
    )


def test_a_host_outside_allowed_hosts_is_one_warning_line(client, db, caplog):
    with caplog.at_level(logging.INFO):
        assert client.get("/login/", HTTP_HOST="evil.example").status_code == 400
    refusals = [r for r in caplog.records if r.name.startswith("django.security")]
    [record] = refusals
    assert record.name == "django.security.DisallowedHost"
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "\n" not in formatted(record)
    assert "Invalid HTTP_HOST header: 'evil.example'" in record.getMessage()
    # Nothing else logged it with a traceback.
    assert all(r.exc_info is None for r in caplog.records)


def test_a_real_error_keeps_its_traceback(caplog):
    # The filter touches refusals only.
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.INFO):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("Internal Server Error: /x")
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
