from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from attendance.devices import register_device
from attendance.models import ConnectedDevice
from attendance.sessions import end_session, start_session

URL = "/api/sessions/status/"


def test_it_reports_no_session(client_for, course, students):
    response = client_for("lecturer").get(URL, {"course_id": course.pk})
    assert response.status_code == 200
    assert response.json() == {
        "course": {"id": course.pk, "code": "MATH101", "title": "Calculus I"},
        "active": False,
        "session": None,
    }


def test_it_reports_the_active_session_with_live_counts(client_for, course, students, lecturer):
    started = timezone.now() - timedelta(minutes=3)
    session, _ = start_session(course=course, by=lecturer, now=started)
    device, _ = register_device(student=students[0], name="phone")
    ConnectedDevice.objects.create(
        session=session, device=device, connected_at=started, last_seen_at=started
    )
    response = client_for("lecturer").get(URL, {"course_id": course.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["active"] is True
    live = body["session"]
    assert live["id"] == session.pk
    assert (live["connected"], live["checked_in"], live["enrolled"]) == (1, 1, 5)
    assert 180 <= live["duration_seconds"] < 3600
    assert "join_code" not in live


def test_an_ended_session_is_not_active(client_for, course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session, by=lecturer)
    body = client_for("lecturer").get(URL, {"course_id": course.pk}).json()
    assert body["active"] is False and body["session"] is None


@pytest.mark.parametrize(
    "value",
    [None, "", "abc", "1.5", "-3", "0", "99999999999999999999999", "1_0", "\u0661", "1.0", " 1"],
)
def test_it_rejects_a_missing_or_invalid_course_id(client_for, course, value):
    params = {} if value is None else {"course_id": value}
    body = assert_error(client_for("lecturer").get(URL, params), 400, "invalid")
    assert "course_id" in body["fields"]


def test_it_answers_404_for_an_unknown_course(client_for, course):
    assert_error(client_for("staff").get(URL, {"course_id": course.pk + 1000}), 404, "not_found")


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("lecturer", 200),
        ("staff", 200),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, course, lecturer, actor, status):
    start_session(course=course, by=lecturer)
    response = client_for(actor).get(URL, {"course_id": course.pk})
    if status == 200:
        assert response.status_code == 200
        assert response.json()["active"] is True
    else:
        body = assert_error(response, status)
        assert "session" not in body
