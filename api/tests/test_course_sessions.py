from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import assert_error
from attendance.sessions import end_session, start_session


def url(course_id: int) -> str:
    return f"/api/courses/{course_id}/sessions/"


def _past_sessions(course, lecturer, n: int) -> list:
    """n ended sessions on n past days, newest first."""
    made = []
    for days in range(n, 0, -1):
        session, _ = start_session(
            course=course, by=lecturer, now=timezone.now() - timedelta(days=days)
        )
        end_session(session=session, by=lecturer)
        made.append(session)
    return made[::-1]


def test_it_lists_the_sessions_newest_first_with_totals(client_for, course, students, lecturer):
    past = _past_sessions(course, lecturer, 2)
    live, _ = start_session(course=course, by=lecturer)
    response = client_for("lecturer").get(url(course.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    rows = body["results"]
    assert [row["id"] for row in rows] == [live.pk, past[0].pk, past[1].pk]
    assert rows[0]["is_active"] is True and rows[0]["ended_at"] is None
    assert (rows[1]["absent"], rows[1]["present"], rows[1]["end_reason"]) == (5, 0, "ended")


def test_it_paginates(client_for, course, students, lecturer):
    _past_sessions(course, lecturer, 3)
    client = client_for("lecturer")
    first = client.get(url(course.pk), {"page_size": 2}).json()
    assert (first["count"], len(first["results"])) == (3, 2)
    assert first["next"] is not None
    second = client.get(url(course.pk), {"page": 2, "page_size": 2}).json()
    assert len(second["results"]) == 1


def test_a_page_past_the_end_is_a_json_404(client_for, course):
    assert_error(client_for("lecturer").get(url(course.pk), {"page": 9}), 404, "not_found")


def test_it_answers_404_for_an_unknown_course(client_for, course):
    assert_error(client_for("staff").get(url(course.pk + 1000)), 404, "not_found")


@pytest.mark.parametrize("n", [5, 50])
def test_its_query_count_is_flat(
    client_for, course, lecturer, students, n, django_assert_num_queries
):
    _past_sessions(course, lecturer, n)
    client = client_for("lecturer")
    # Token and its stamp, lecturer check, course, its lecturer check, count, page.
    with django_assert_num_queries(7):
        response = client.get(url(course.pk))
    assert response.json()["count"] == n


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
    _past_sessions(course, lecturer, 1)
    response = client_for(actor).get(url(course.pk))
    if status == 200:
        assert response.status_code == 200
        assert response.json()["count"] == 1
    else:
        body = assert_error(response, status)
        assert "results" not in body
