"""The course analytics page: who may see it, what it draws, and what it costs."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from analytics.tests.conftest import ended_class
from attendance.sessions import start_session

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def url(course, **query):
    return reverse("course-analytics", args=[course.pk]) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


@pytest.fixture
def classes(course, lecturer, students):
    """Three ended classes over two weekdays: 3/5, 1/5 and 5/5 attended."""
    return [
        ended_class(course, lecturer, MONDAY_9, {students[0]: 1, students[1]: 2, students[2]: 20}),
        ended_class(course, lecturer, MONDAY_9 + timedelta(days=1), {students[0]: -2}),
        ended_class(course, lecturer, MONDAY_9 + timedelta(days=7), {s: 3 for s in students}),
    ]


def test_a_lecturer_sees_each_chart_with_its_numbers_written_out(lecturer_client, course, classes):
    response = lecturer_client.get(url(course))
    assert response.status_code == 200
    html = response.content.decode()
    # (1) a bar per session, its rate written above it; the table gives the same.
    assert html.count('class="bar-rate"') == 3
    for value in ("60", "20", "100"):
        assert f'text-anchor="middle">{value}</text>' in html
    assert "60%</td>" in html and "20%</td>" in html
    assert "9 of 15 attended" not in html  # per session, not in all
    assert "60%" in html  # over all sessions: 9 of 15
    # (2) arrivals: 1 early, 7 within 5 minutes, 1 at 20 minutes.
    assert re.search(r"<th scope=\"row\">early</th><td class=\"num\">1</td>", html)
    assert re.search(r"<th scope=\"row\">0–5</th><td class=\"num\">7</td>", html)
    assert re.search(r"<th scope=\"row\">20–30</th><td class=\"num\">1</td>", html)
    # (3) Monday 09:00 (two sessions: 8 of 10) and Tuesday 09:00 (1 of 5).
    assert '<th scope="row">Monday</th><td>09:00</td><td class="num">2</td>' in html
    assert 'class="heat-3"' in html or 'class="heat-2"' in html
    assert "heat-0-text" in html  # Tuesday's 20%
    # Text alternatives: titles, descriptions, labelled charts and tables.
    for chart in ("rates", "arrivals", "heat"):
        assert f'aria-labelledby="{chart}-svg-title {chart}-svg-desc"' in html
        assert f'<desc id="{chart}-svg-desc">' in html
    assert html.count('<details class="chart-table">') == 3
    # (4) each session's timeline is a link away.
    assert reverse("session-timeline", args=[classes[0].pk]) in html
    assert "style=" not in html


def test_staff_see_any_course(client, staff_user, course, classes):
    client.force_login(staff_user)
    assert client.get(url(course)).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"), [("other_lecturer", 404), ("office_user", 404), ("student_user", 403)]
)
def test_anyone_else_is_refused(request, client, course, classes, who, status):
    # Staff pages refuse a student outright; other staff learn nothing of the course.
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(course)).status_code == status


def test_signed_out_goes_to_the_login_page(client, course):
    response = client.get(url(course))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_unknown_course_is_404(lecturer_client):
    assert lecturer_client.get("/courses/999999/analytics/").status_code == 404


def test_a_post_is_refused(lecturer_client, course):
    assert lecturer_client.post(url(course)).status_code == 405


def test_no_ended_session_shows_the_empty_state(lecturer_client, course, lecturer, students):
    start_session(course=course, by=lecturer)
    html = lecturer_client.get(url(course)).content.decode()
    assert "No ended sessions yet" in html
    assert '<svg class="chart' not in html


def test_sessions_without_device_arrivals_say_so(lecturer_client, course, lecturer, students):
    ended_class(course, lecturer, MONDAY_9, {})
    html = lecturer_client.get(url(course)).content.decode()
    assert "No device arrivals recorded" in html
    assert 'class="bar-rate"' not in html  # a 0% session draws no bar, only its label
    assert 'text-anchor="middle">0</text>' in html


def _queries(django_assert_num_queries, client, course, n):
    with django_assert_num_queries(n):
        assert client.get(url(course)).status_code == 200


# The web session and its user, the course, the active term, then one query per chart.
PAGE_QUERIES = 7


def test_the_page_costs_the_same_queries_for_one_session_or_many(
    django_assert_num_queries, lecturer_client, course, lecturer, students, make_students
):
    ended_class(course, lecturer, MONDAY_9, {students[0]: 1})
    _queries(django_assert_num_queries, lecturer_client, course, PAGE_QUERIES)
    more = make_students(20, course=course)
    for day in range(1, 9):
        ended_class(
            course, lecturer, MONDAY_9 + timedelta(days=day, hours=day % 3), {s: day for s in more}
        )
    _queries(django_assert_num_queries, lecturer_client, course, PAGE_QUERIES)


def test_the_empty_page_costs_fewer(django_assert_num_queries, lecturer_client, course):
    # No sessions: the arrival and heat map queries are not made.
    _queries(django_assert_num_queries, lecturer_client, course, PAGE_QUERIES - 2)


def test_the_range_switch_shows_every_term(lecturer_client, course, classes):
    html = lecturer_client.get(url(course, range="all")).content.decode()
    assert '<strong aria-current="page">All sessions</strong>' in html
    assert html.count('class="bar-rate"') == 3
