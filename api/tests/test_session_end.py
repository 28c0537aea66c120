from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from attendance.devices import register_device
from attendance.models import AttendanceRecord, ConnectedDevice
from attendance.sessions import start_session


def url(session_id: int) -> str:
    return f"/api/sessions/{session_id}/end/"


@pytest.fixture
def session(course, students, lecturer):
    started = timezone.now() - timedelta(minutes=30)
    session, _ = start_session(course=course, by=lecturer, now=started)
    for student, minutes in [(students[0], 1), (students[1], 15)]:
        device, _ = register_device(student=student, name="phone")
        at = started + timedelta(minutes=minutes)
        ConnectedDevice.objects.create(
            session=session, device=device, connected_at=at, last_seen_at=at
        )
    return session


def test_it_ends_the_session_and_writes_the_register(client_for, session, lecturer):
    response = client_for("lecturer").post(url(session.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["present"], body["late"], body["absent"]) == (session.pk, 1, 1, 3)
    assert body["reason"] == "ended"
    session.refresh_from_db()
    assert not session.is_active
    assert session.ended_by == lecturer
    assert AttendanceRecord.objects.filter(session=session).count() == 5


def test_ending_twice_gives_equal_answers_and_one_set_of_records(client_for, session):
    client = client_for("lecturer")
    first = client.post(url(session.pk))
    second = client.post(url(session.pk), {}, format="json")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    assert AttendanceRecord.objects.filter(session=session).count() == 5
    session.refresh_from_db()
    assert session.ended_at.isoformat().replace("+00:00", "Z") == first.json()["ended_at"]


def test_it_answers_404_for_an_unknown_session(client_for, session):
    assert_error(client_for("staff").post(url(session.pk + 1000)), 404, "not_found")


def test_a_huge_id_is_a_404_not_an_error(client_for, session):
    assert_error(client_for("staff").post(url(10**30)), 404, "not_found")


def test_it_rejects_unknown_fields(client_for, session):
    response = client_for("lecturer").post(url(session.pk), {"reason": "forced"}, format="json")
    assert_error(response, 400, "invalid")
    session.refresh_from_db()
    assert session.is_active


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
def test_the_permission_matrix(client_for, session, actor, status):
    response = client_for(actor).post(url(session.pk))
    session.refresh_from_db()
    if status == 200:
        assert response.status_code == 200
        assert not session.is_active
    else:
        body = assert_error(response, status)
        assert "present" not in body
        assert session.is_active
        assert not AttendanceRecord.objects.exists()
