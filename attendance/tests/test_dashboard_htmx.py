"""The live dashboard page: the socket, the QR, htmx partials for the poll and the buttons."""

import pytest
from django.urls import reverse

from attendance.models import NetworkSession
from attendance.sessions import start_session

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


def test_it_shows_the_code_and_a_qr_of_the_device_page(lecturer_client, course, students):
    session, _ = start_session(course=course, by=None)
    response = lecturer_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'ws-connect="/ws/dashboard/"' in html
    assert 'id="live-indicator"' in html
    assert f"<strong data-code>{session.join_code}</strong>" in html
    assert f'data-join-url="http://testserver/device/?code={session.join_code}"' in html
    assert "<svg" in html


def test_an_htmx_request_gets_only_the_cards(lecturer_client, course):
    response = lecturer_client.get(reverse("dashboard"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="cards" id="cards"' in html
    assert "<html" not in html


def test_the_page_reads_in_a_constant_number_of_queries(
    lecturer_client, lecturer, make_students, django_assert_max_num_queries
):
    from attendance.models import Course

    for i in range(6):
        c = Course.objects.create(code=f"C{i}", title="t")
        c.lecturers.add(lecturer)
        make_students(3, course=c, prefix=f"P{i}")
        start_session(course=c, by=lecturer)
    # Two of them read the name lists of who has checked in.
    with django_assert_max_num_queries(10):
        response = lecturer_client.get(reverse("dashboard"), **HTMX)
    assert response.status_code == 200
    assert response.content.decode().count('class="card running"') == 6


def test_start_and_end_by_htmx_return_the_card(lecturer_client, course, students):
    response = lecturer_client.post(reverse("session-start", args=[course.pk]), **HTMX)
    assert response.status_code == 200
    session = NetworkSession.objects.get(course=course, is_active=True)
    assert f'id="course-{course.pk}"' in response.content.decode()
    assert session.join_code in response.content.decode()

    response = lecturer_client.post(reverse("session-end", args=[session.pk]), **HTMX)
    assert response.status_code == 200
    assert "Start session" in response.content.decode()
    session.refresh_from_db()
    assert not session.is_active and session.end_reason == "ended"


def test_a_lecturer_cannot_end_another_lecturers_session(lecturer_client, other_course):
    session, _ = start_session(course=other_course, by=None)
    response = lecturer_client.post(reverse("session-end", args=[session.pk]), **HTMX)
    assert response.status_code == 404
    session.refresh_from_db()
    assert session.is_active


def test_refresh_by_htmx_runs_the_refresh_and_returns_the_cards(lecturer_client, course):
    session, _ = start_session(course=course, by=None)
    NetworkSession.objects.filter(pk=session.pk).update(
        started_at=session.started_at.replace(year=session.started_at.year - 1)
    )
    response = lecturer_client.post(reverse("sessions-refresh"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="cards" id="cards"' in html
    assert "Sessions refreshed: 1 expired, 0 superseded, 0 active." in html
    session.refresh_from_db()
    assert not session.is_active and session.end_reason == "expired"


def test_an_expired_sign_in_sends_htmx_to_the_login_page_not_into_a_card(client):
    response = client.get(
        reverse("dashboard"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=%2F"
    assert response.content == b""


def test_a_plain_request_still_gets_the_ordinary_login_redirect(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert "HX-Redirect" not in response


def test_a_student_is_refused_the_dashboard_and_pointed_home(client, make_user, students):
    user = make_user("pupil")
    students[0].user = user
    students[0].save(update_fields=["user"])
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert f'href="{reverse("accounts:home")}"' in response.content.decode()


def test_an_ended_session_leaves_its_register_totals_on_the_card(
    lecturer_client, course, students, lecturer
):
    session, _ = start_session(course=course, by=lecturer)
    response = lecturer_client.post(reverse("session-end", args=[session.pk]), **HTMX)
    html = response.content.decode()
    assert f'data-last-session="{session.pk}"' in html
    totals = "<strong>0</strong> present · <strong>0</strong> late · <strong>5</strong> absent"
    assert totals in html
    assert reverse("session-detail", args=[session.pk]) in html


def test_a_session_ended_on_an_earlier_day_leaves_nothing_on_the_card(
    lecturer_client, course, students, lecturer
):
    session, _ = start_session(course=course, by=lecturer)
    NetworkSession.objects.filter(pk=session.pk).update(
        date=session.date.replace(year=session.date.year - 1)
    )
    lecturer_client.post(reverse("session-end", args=[session.pk]), **HTMX)
    html = lecturer_client.get(reverse("dashboard"), **HTMX).content.decode()
    assert "data-last-session" not in html
