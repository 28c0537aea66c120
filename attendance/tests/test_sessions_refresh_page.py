"""POST /sessions/refresh/ (the dashboard's button): staff and lecturers only, as the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import NetworkSession, Student
from attendance.sessions import start_session
from payments.permissions import ensure_fees_office_group

URL = "/sessions/refresh/"


@pytest.fixture
def expired_session(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    NetworkSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(hours=5)
    )
    return session


@pytest.fixture
def student_login(make_user, students):
    user = make_user("student")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    return user


@pytest.fixture
def office_login(make_user):
    user = make_user("office")
    user.groups.add(ensure_fees_office_group())
    return user


@pytest.mark.parametrize("who", ["student_login", "office_login"])
def test_a_student_or_the_fees_office_is_refused_and_nothing_ends(
    request, client, expired_session, who
):
    client.force_login(request.getfixturevalue(who))
    response = client.post(URL)
    assert response.status_code == 403
    expired_session.refresh_from_db()
    assert expired_session.is_active


def test_an_htmx_refresh_by_a_student_is_refused_too(client, expired_session, student_login):
    client.force_login(student_login)
    assert client.post(URL, HTTP_HX_REQUEST="true").status_code == 403
    expired_session.refresh_from_db()
    assert expired_session.is_active


@pytest.mark.parametrize("who", ["lecturer", "staff_user"])
def test_a_lecturer_or_staff_refreshes(request, client, expired_session, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(URL)
    assert response.status_code == 302
    expired_session.refresh_from_db()
    assert not expired_session.is_active
    assert expired_session.end_reason == "expired"
