import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from attendance.models import Course, NetworkSession
from attendance.sessions import start_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


def test_it_lists_only_the_lecturers_courses(lecturer_client, course, other_course):
    html = lecturer_client.get(reverse("dashboard")).content.decode()
    assert "MATH101" in html
    assert "HIST201" not in html


def test_staff_see_every_course(client, staff_user, course, other_course):
    client.force_login(staff_user)
    html = client.get(reverse("dashboard")).content.decode()
    assert "MATH101" in html and "HIST201" in html


def test_a_lecturer_without_courses_sees_the_empty_state(client, make_user, other_course):
    client.force_login(make_user("newcomer"))
    html = client.get(reverse("dashboard")).content.decode()
    assert "don't teach any courses yet" in html
    assert "HIST201" not in html


def test_a_card_shows_the_running_session_its_code_and_counts(
    lecturer_client, course, students, lecturer
):
    session, _ = start_session(course=course, by=lecturer)
    html = lecturer_client.get(reverse("dashboard")).content.decode()
    assert "Session running" in html
    assert session.join_code in html
    assert reverse("session-end", args=[session.pk]) in html


def test_start_calls_the_service(lecturer_client, course, lecturer):
    response = lecturer_client.post(reverse("session-start", args=[course.pk]))
    assert response.status_code == 302
    session = NetworkSession.objects.get(course=course)
    assert session.is_active and session.started_by == lecturer


def test_start_by_get_is_refused(lecturer_client, course):
    assert lecturer_client.get(reverse("session-start", args=[course.pk])).status_code == 405
    assert not NetworkSession.objects.exists()


def test_end_calls_the_service_and_writes_the_register(lecturer_client, course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    response = lecturer_client.post(reverse("session-end", args=[session.pk]), follow=True)
    assert "Session ended for MATH101: 0 present, 0 late, 5 absent." in response.content.decode()
    session.refresh_from_db()
    assert not session.is_active and session.records.count() == 5


def test_starting_another_lecturers_course_is_not_found(lecturer_client, other_course):
    assert lecturer_client.post(reverse("session-start", args=[other_course.pk])).status_code == 404
    assert not NetworkSession.objects.exists()


def test_ending_another_lecturers_session_is_not_found(lecturer_client, other_course):
    session, _ = start_session(course=other_course, by=None)
    assert lecturer_client.post(reverse("session-end", args=[session.pk])).status_code == 404
    session.refresh_from_db()
    assert session.is_active


def test_start_needs_the_csrf_token(lecturer, course):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lecturer)
    assert client.post(reverse("session-start", args=[course.pk])).status_code == 403
    assert not NetworkSession.objects.exists()
    page = client.get(reverse("dashboard"))
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("session-start", args=[course.pk]), {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert NetworkSession.objects.filter(course=course, is_active=True).exists()


def test_refresh_calls_the_service(lecturer_client, course):
    response = lecturer_client.post(reverse("sessions-refresh"), follow=True)
    assert "Sessions refreshed: 0 expired, 0 superseded, 0 active." in response.content.decode()


def _courses_with_sessions(n: int, lecturer) -> None:
    for i in range(n):
        c = Course.objects.create(code=f"C{i:03d}", title=f"Course {i}")
        c.lecturers.add(lecturer)
        start_session(course=c, by=lecturer)


@pytest.mark.parametrize("n", [1, 10])
def test_the_dashboards_query_count_does_not_grow_with_courses(
    client, n, django_assert_num_queries, settings
):
    lecturer = get_user_model().objects.create_user("busy")
    _courses_with_sessions(n, lecturer)
    client.force_login(lecturer)
    # cached_db (with Redis) reads the web session from the cache, not the database.
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    # One of them reads the running sessions' name lists (who has checked in, who not yet).
    with django_assert_num_queries(7 + session_queries):
        assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize("n", [1, 10])
def test_ended_sessions_on_the_cards_cost_one_query_whatever_their_number(
    client, n, django_assert_num_queries, settings
):
    from attendance.sessions import end_session

    lecturer = get_user_model().objects.create_user("busy")
    _courses_with_sessions(n, lecturer)
    for session in NetworkSession.objects.all():
        end_session(session=session)
    client.force_login(lecturer)
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    # One query for the ended sessions' totals in place of the two presence counts
    # of running sessions.
    with django_assert_num_queries(5 + session_queries):
        response = client.get(reverse("dashboard"))
    assert response.content.decode().count("data-last-session=") == n
