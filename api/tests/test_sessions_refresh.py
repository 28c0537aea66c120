from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from attendance.models import AttendanceRecord, NetworkSession
from attendance.sessions import start_session

URL = "/api/sessions/refresh/"


@pytest.fixture
def expired_session(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer, now=timezone.now() - timedelta(hours=5))
    return session


def test_it_ends_expired_sessions_and_counts_them(client_for, expired_session, other_course):
    live, _ = start_session(course=other_course, by=None)
    response = client_for("lecturer").post(URL, {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"expired": 1, "superseded": 0, "active": 1}
    expired_session.refresh_from_db()
    assert not expired_session.is_active and expired_session.end_reason == "expired"
    assert AttendanceRecord.objects.filter(session=expired_session).count() == 5
    live.refresh_from_db()
    assert live.is_active


def test_it_accepts_an_empty_body(client_for, expired_session):
    response = client_for("staff").post(URL)
    assert response.status_code == 200
    assert response.json()["expired"] == 1


@pytest.mark.parametrize("actor", ["lecturer", "other_lecturer", "staff"])
def test_staff_and_every_lecturer_may_refresh(client_for, actor, expired_session):
    assert client_for(actor).post(URL).status_code == 200
    assert not NetworkSession.objects.filter(is_active=True).exists()


@pytest.mark.parametrize(
    ("actor", "status"), [("student", 403), ("anonymous", 401), ("bad_token", 401)]
)
def test_it_refuses_others(client_for, actor, status, expired_session):
    assert_error(client_for(actor).post(URL), status)
    expired_session.refresh_from_db()
    assert expired_session.is_active


def test_it_rejects_unknown_fields(client_for, expired_session):
    body = assert_error(client_for("staff").post(URL, {"hours": 1}, format="json"), 400)
    assert "hours" in body["fields"]
    expired_session.refresh_from_db()
    assert expired_session.is_active


def test_it_rejects_get(client_for):
    assert_error(client_for("staff").get(URL), 405, "method_not_allowed")
