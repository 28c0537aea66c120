import pytest

from api.tests.conftest import assert_error
from attendance.models import Course

URL = "/api/courses/"


def test_a_lecturer_lists_their_own_courses(client_for, course, other_course):
    response = client_for("lecturer").get(URL)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": course.pk, "code": "MATH101", "title": "Calculus I"}
    ]


def test_staff_list_every_course(client_for, course, other_course):
    codes = [row["code"] for row in client_for("staff").get(URL).json()["results"]]
    assert codes == ["HIST201", "MATH101"]


@pytest.mark.parametrize("n", [5, 50])
def test_its_query_count_is_flat(client_for, lecturer, n, django_assert_num_queries):
    for i in range(n):
        Course.objects.create(code=f"C{i:03d}", title="x").lecturers.add(lecturer)
    client = client_for("lecturer")
    # Token and its stamp, lecturer check, count, page.
    with django_assert_num_queries(5):
        response = client.get(URL)
    assert response.json()["count"] == n + 1


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("lecturer", 200),
        ("other_lecturer", 200),
        ("staff", 200),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_the_permission_matrix(client_for, course, actor, status):
    response = client_for(actor).get(URL)
    if status == 200:
        assert response.status_code == 200
        codes = {row["code"] for row in response.json()["results"]}
        assert ("MATH101" in codes) == (actor != "other_lecturer")
    else:
        assert_error(response, status)
