"""GET /api/timetable/week/ and /api/timetable/next/: the caller's own classes."""

from datetime import time, timedelta

import pytest
import time_machine

from api.tests.conftest import assert_error
from attendance.models import Course
from timetable import meetings
from timetable.tests.builders import MONDAY, at, new_meeting, spring_term

WEEK = "/api/timetable/week/"
NEXT = "/api/timetable/next/"


@pytest.fixture
def make_meeting(db):
    term = spring_term()
    return lambda course, **kwargs: new_meeting(course, term, **kwargs)


@pytest.fixture
def monday_morning():
    with time_machine.travel(at(MONDAY, 8, 0), tick=False):
        yield


@pytest.fixture
def timetable(course, other_course, make_meeting, lecturer, monday_morning):
    monday = make_meeting(course, weekday=0, at=time(9, 0), room="A1")
    make_meeting(course, weekday=3, at=time(14, 0), minutes=90, auto_start=False)
    make_meeting(other_course, weekday=0, at=time(11, 0))
    meetings.cancel_class(
        meeting=make_meeting(course, weekday=1, at=time(9, 0)),
        day=MONDAY + timedelta(days=1),
        by=lecturer,
        reason="Staff training",
    )
    return monday


def test_a_lecturer_gets_the_week_of_the_courses_they_teach(client_for, timetable):
    response = client_for("lecturer").get(WEEK, {"date": "2026-03-04"})
    assert response.status_code == 200
    body = response.json()
    assert (body["week_start"], body["week_end"]) == ("2026-03-02", "2026-03-08")
    rows = [
        (c["course"]["code"], c["date"], c["starts_at"], c["status"], c["note"])
        for c in body["classes"]
    ]
    assert rows == [
        ("MATH101", "2026-03-02", "2026-03-02T09:00:00Z", "upcoming", ""),
        ("MATH101", "2026-03-03", "2026-03-03T09:00:00Z", "cancelled", "Staff training"),
        ("MATH101", "2026-03-05", "2026-03-05T14:00:00Z", "upcoming", ""),
    ]
    first, _cancelled, thursday = body["classes"]
    assert (first["opens_at"], first["room"], first["session"]) == (
        "2026-03-02T08:55:00Z",
        "A1",
        None,
    )
    assert thursday["opens_at"] is None  # started by hand


def test_a_student_gets_the_week_of_the_courses_they_are_enrolled_in(client_for, timetable):
    body = client_for("student").get(WEEK).json()
    assert {c["course"]["code"] for c in body["classes"]} == {"MATH101"}
    assert body["week_start"] == "2026-03-02"


def test_the_next_class_is_the_running_one_or_the_one_to_come(client_for, timetable):
    from timetable.sweep import sweep_job

    body = client_for("lecturer").get(NEXT).json()
    assert body["next"]["starts_at"] == "2026-03-02T09:00:00Z"
    assert body["next"]["status"] == "upcoming"
    sweep_job(now=at(MONDAY, 8, 56))
    with time_machine.travel(at(MONDAY, 9, 30), tick=False):
        body = client_for("lecturer").get(NEXT).json()
    assert body["next"]["status"] == "running" and body["next"]["session"] is not None


def test_no_class_ahead_is_null(client_for, course, monday_morning):
    assert client_for("lecturer").get(NEXT).json() == {"next": None}


@pytest.mark.parametrize(
    "value", ["02/03/2026", "2026-02-30", "monday", "9999-12-31", "0001-01-01"]
)
def test_a_bad_date_is_a_400_in_the_envelope(client_for, course, value):
    body = assert_error(client_for("lecturer").get(WEEK, {"date": value}), 400, "invalid")
    assert "date" in body["fields"]


@pytest.mark.parametrize(
    ("actor", "status"),
    [("office", 403), ("anonymous", 401), ("bad_token", 401), ("staff", 200)],
)
def test_who_may_call_it(client_for, course, actor, status):
    for url in (WEEK, NEXT):
        response = client_for(actor).get(url)
        if status == 200:
            assert response.status_code == 200
        else:
            assert_error(response, status)


@pytest.mark.parametrize("n", [1, 10])
def test_its_query_count_does_not_grow_with_courses_or_classes(
    client_for, lecturer, make_meeting, n, django_assert_num_queries, monday_morning
):
    for i in range(n):
        course = Course.objects.create(code=f"C{i:03d}", title="x")
        course.lecturers.add(lecturer)
        for weekday in range(5):
            make_meeting(course, weekday=weekday, at=time(8 + i % 8, 0))
    client = client_for("lecturer")
    # Token and its stamp, who may call it, then meetings, occurrences, closures.
    with django_assert_num_queries(6):
        response = client.get(WEEK)
    assert len(response.json()["classes"]) == 5 * n
