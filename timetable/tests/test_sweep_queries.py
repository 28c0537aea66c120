"""The sweep's timetable job costs the same whatever the size of the timetable."""

from datetime import time

import pytest

from attendance.models import Course, NetworkSession
from timetable.sweep import sweep_job
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db


def school(n: int, make_meeting) -> None:
    for i in range(n):
        course = Course.objects.create(code=f"C{i:03d}", title="t")
        for weekday in range(5):
            make_meeting(course, weekday=weekday, at=time(9 + i % 8, 0))


@pytest.mark.parametrize("courses", [1, 40])
def test_a_tick_with_nothing_due_is_three_queries(courses, make_meeting, django_assert_num_queries):
    school(courses, make_meeting)
    # closures, the day's meetings not opened yet, sessions of classes that are over
    with django_assert_num_queries(3):
        assert sweep_job(now=at(MONDAY, 7, 0)) == {}


@pytest.mark.parametrize("due", [1, 4, 30])
def test_classes_starting_together_open_in_the_same_few_queries(
    due, make_meeting, django_assert_num_queries
):
    # `due` courses meet at 09:00 among 40 courses.
    for i in range(40):
        course = Course.objects.create(code=f"C{i:03d}", title="t")
        make_meeting(course, weekday=0, at=time(9 if i < due else 12, 0))
    # The three of an idle tick and what is running in the due courses; then, inside a
    # savepoint, the occurrences inserted, ours read back locked, the codes in use, the
    # sessions inserted (a savepoint of their own) and the occurrences linked.
    with django_assert_num_queries(4 + 2 + 1 + 1 + 1 + 3 + 1):
        assert sweep_job(now=at(MONDAY, 8, 55)) == {"classes_opened": due}
    assert NetworkSession.objects.filter(is_active=True, occurrence__isnull=False).count() == due
    assert set(
        NetworkSession.objects.filter(is_active=True).values_list("scheduled_start", flat=True)
    ) == {at(MONDAY, 9, 0)}
    assert len(set(NetworkSession.objects.values_list("join_code", flat=True))) == due


def test_a_class_that_takes_over_a_running_session_opens_on_its_own(
    make_meeting, django_assert_num_queries
):
    from attendance.sessions import start_session

    courses = [Course.objects.create(code=f"C{i:03d}", title="t") for i in range(3)]
    for course in courses:
        make_meeting(course, weekday=0, at=time(9, 0))
    by_hand, _ = start_session(course=courses[0], by=None, now=at(MONDAY, 8, 50))
    assert sweep_job(now=at(MONDAY, 8, 55)) == {"classes_opened": 3}
    by_hand.refresh_from_db()
    assert by_hand.is_active and by_hand.scheduled_start == at(MONDAY, 9, 0)
    assert NetworkSession.objects.filter(is_active=True).count() == 3
