"""The sweep's timetable job costs the same whatever the size of the timetable."""

from datetime import time

import pytest

from attendance.models import Course
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


@pytest.mark.parametrize("due", [1, 4])
def test_each_class_opened_costs_the_same_few_queries(due, make_meeting, django_assert_num_queries):
    # `due` courses meet at 09:00 among 40 courses of 200 meetings.
    for i in range(40):
        course = Course.objects.create(code=f"C{i:03d}", title="t")
        make_meeting(course, weekday=0, at=time(9 if i < due else 12, 0))
    # The three of an idle tick, what is running in the due courses, then twelve
    # statements a class: its occurrence, its session (today's, the codes in use,
    # the insert, yesterday's left running) and the link, with their savepoints.
    with django_assert_num_queries(4 + 12 * due):
        assert sweep_job(now=at(MONDAY, 8, 55)) == {"classes_opened": due}
