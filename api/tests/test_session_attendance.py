from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from attendance.devices import register_device
from attendance.models import ConnectedDevice
from attendance.sessions import end_session, start_session


def url(session_id: int) -> str:
    return f"/api/sessions/{session_id}/attendance/"


def _ended_session(course, students, lecturer):
    started = timezone.now() - timedelta(minutes=30)
    session, _ = start_session(course=course, by=lecturer, now=started)
    device, _ = register_device(student=students[0], name="phone")
    at = started + timedelta(minutes=1)
    ConnectedDevice.objects.create(session=session, device=device, connected_at=at, last_seen_at=at)
    end_session(session=session, by=lecturer)
    return session


@pytest.fixture
def ended(course, students, lecturer):
    return _ended_session(course, students, lecturer)


def test_it_lists_the_register(client_for, ended, students):
    response = client_for("lecturer").get(url(ended.pk))
    assert response.status_code == 200
    rows = {row["student"]: row for row in response.json()}
    assert len(rows) == 5
    present = rows[students[0].student_number]
    assert present["status"] == "present"
    assert present["name"] == students[0].full_name
    assert present["source"] == "device"
    assert present["first_seen"] is not None
    absent = rows[students[1].student_number]
    assert (absent["status"], absent["first_seen"], absent["last_seen"]) == ("absent", None, None)


def test_a_running_session_has_an_empty_register(client_for, course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    response = client_for("lecturer").get(url(session.pk))
    assert response.status_code == 200
    assert response.json() == []


def test_it_answers_404_for_an_unknown_session(client_for, ended):
    assert_error(client_for("staff").get(url(ended.pk + 1000)), 404, "not_found")


@pytest.mark.parametrize("size", [5, 50])
def test_its_query_count_does_not_grow_with_the_class(
    client_for, course, lecturer, make_students, size, django_assert_num_queries
):
    session = _ended_session(course, make_students(size, course=course), lecturer)
    client = client_for("lecturer")
    # Token lookup and last-used stamp, lecturer check, session, its course check, the records.
    with django_assert_num_queries(6):
        response = client.get(url(session.pk))
    # The actors' fixtures already enrolled five students.
    assert len(response.json()) == size + 5


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
def test_the_permission_matrix(client_for, ended, actor, status):
    response = client_for(actor).get(url(ended.pk))
    if status == 200:
        assert response.status_code == 200
        assert len(response.json()) == 5
    else:
        assert_error(response, status)
