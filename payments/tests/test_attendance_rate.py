"""The attendance rate on the fee pages follows the course register's rule: excused is left out."""

import pytest

from payments.selectors import annotate_attendance, attendance_by_course
from payments.tests.test_student_list import _record

pytestmark = pytest.mark.django_db


def _two_attended_one_absent_one_excused(course, student):
    for day, status in enumerate(["present", "late", "absent", "excused"], start=1):
        _record(course, student, status, day)


def test_an_excused_absence_does_not_lower_the_roster_rate(course, students):
    _two_attended_one_absent_one_excused(course, students[0])
    row = annotate_attendance(type(students[0]).objects.filter(pk=students[0].pk)).get()
    assert (row.attendance_attended, row.attendance_total) == (2, 3)
    assert row.attendance_percent == pytest.approx(66.7)


def test_an_excused_absence_does_not_lower_the_rate_per_course(course, students):
    _two_attended_one_absent_one_excused(course, students[0])
    [line] = attendance_by_course(student=students[0])
    assert line.excused == 1
    assert line.percent == pytest.approx(66.7)


def test_only_excused_records_give_no_rate(course, students):
    _record(course, students[0], "excused", 1)
    row = annotate_attendance(type(students[0]).objects.filter(pk=students[0].pk)).get()
    assert row.attendance_percent is None
    assert attendance_by_course(student=students[0])[0].percent is None
