"""One session's devices over time: a step chart, its table, and who may see it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from analytics.tests.conftest import ended_class

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(course, lecturer, students):
    return ended_class(course, lecturer, MONDAY_9, {students[0]: 1, students[1]: 1, students[2]: 7})


def url(session):
    return reverse("session-timeline", args=[session.pk])


def test_the_lecturer_sees_the_step_chart_with_its_counts(lecturer_client, session):
    response = lecturer_client.get(url(session))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="step-line" d="M' in html
    assert 'aria-labelledby="timeline-svg-title timeline-svg-desc"' in html
    # The counts where they change, written on the chart and in the table.
    for n in ("2", "3"):
        assert f'text-anchor="middle">{n}</text>' in html
    assert '<td class="num">2</td>' in html and '<td class="num">3</td>' in html
    assert "At most 3 devices at once" in html
    assert "style=" not in html


def test_staff_may_see_it(client, staff_user, session):
    client.force_login(staff_user)
    assert client.get(url(session)).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"), [("other_lecturer", 404), ("office_user", 404), ("student_user", 403)]
)
def test_anyone_else_is_refused(request, client, session, who, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(session)).status_code == status


def test_a_session_no_device_joined_shows_the_empty_state(
    lecturer_client, course, lecturer, students
):
    empty = ended_class(course, lecturer, MONDAY_9 + timedelta(days=1), {})
    html = lecturer_client.get(url(empty)).content.decode()
    assert "No device joined this session" in html


def test_the_timeline_costs_the_same_queries_whatever_the_class(
    django_assert_num_queries, lecturer_client, course, lecturer, make_students, session
):
    # The web session and its user, the session, the permission, joins, leaves.
    with django_assert_num_queries(6):
        lecturer_client.get(url(session))
    more = make_students(30, course=course)
    big = ended_class(
        course, lecturer, MONDAY_9 + timedelta(days=2), {s: i % 17 for i, s in enumerate(more)}
    )
    with django_assert_num_queries(6):
        lecturer_client.get(url(big))
