import pytest

from api.tests.conftest import assert_error
from attendance.models import NetworkSession

URL = "/api/sessions/"


def test_it_starts_a_session_and_returns_the_join_code(client_for, course, students, lecturer):
    response = client_for("lecturer").post(URL, {"course_id": course.pk}, format="json")
    assert response.status_code == 201
    body = response.json()
    session = NetworkSession.objects.get(course=course, is_active=True)
    assert body["id"] == session.pk
    assert body["join_code"] == session.join_code
    assert body["course"] == {"id": course.pk, "code": "MATH101", "title": "Calculus I"}
    assert (body["connected"], body["checked_in"], body["enrolled"]) == (0, 0, 5)
    assert session.started_by == lecturer


def test_a_second_start_returns_the_running_session_with_200(client_for, course):
    client = client_for("lecturer")
    first = client.post(URL, {"course_id": course.pk}, format="json")
    second = client.post(URL, {"course_id": course.pk}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert NetworkSession.objects.filter(course=course).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"course_id": "1"},
        {"course_id": 1.5},
        {"course_id": True},
        {"course_id": None},
        {"course_id": 0},
        {"course_id": 2**64},
        {"course_id": 1, "course": 1},
        [1],
        "text",
    ],
)
def test_it_rejects_invalid_bodies(client_for, course, body):
    assert_error(client_for("lecturer").post(URL, body, format="json"), 400, "invalid")
    assert not NetworkSession.objects.exists()


def test_it_rejects_malformed_json(client_for, course):
    response = client_for("lecturer").post(URL, "{oops", content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert not NetworkSession.objects.exists()


def test_it_rejects_a_form_body(client_for, course):
    response = client_for("lecturer").post(URL, {"course_id": course.pk})
    assert_error(response, 415, "unsupported_media_type")


def test_it_answers_404_for_an_unknown_course(client_for, course):
    response = client_for("staff").post(URL, {"course_id": course.pk + 1000}, format="json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("lecturer", 201),
        ("staff", 201),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, course, actor, status):
    response = client_for(actor).post(URL, {"course_id": course.pk}, format="json")
    if status == 201:
        assert response.status_code == 201
        assert response.json()["join_code"]
        assert NetworkSession.objects.filter(course=course, is_active=True).count() == 1
    else:
        body = assert_error(response, status)
        assert "join_code" not in body
        assert not NetworkSession.objects.exists()
