"""Two register corrections racing for the same students: one warning per fall."""

import pytest

from attendance.models import AttendanceRecord, Course
from attendance.registers import mark_attendance, mark_many
from conftest import run_at_once
from reports.models import AttendanceWarning, Standing
from reports.tests.builders import everyone, write_register

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def strict_course(course):
    """95%: one absence in ten is a fall."""
    Course.objects.filter(pk=course.pk).update(warn_below_percent=95)
    return course


def test_two_corrections_of_one_student_racing_warn_once(strict_course, students):
    ada = students[0]
    sessions = [write_register(strict_course, {ada: "present"}) for _ in range(10)]
    records = [AttendanceRecord.objects.get(session=s, student=ada) for s in sessions[-2:]]

    results = run_at_once(
        2,
        lambda i: mark_attendance(record=records[i], status="absent", by=None, reason="Late note"),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert AttendanceWarning.objects.filter(student=ada).count() == 1
    standing = Standing.objects.get(student=ada, course=strict_course)
    assert (standing.present, standing.absent, standing.below, standing.crossings) == (
        8,
        2,
        True,
        1,
    )


def test_two_corrections_of_a_whole_class_racing_warn_each_student_once(strict_course, students):
    sessions = [write_register(strict_course, everyone(students, "present")) for _ in range(10)]
    ids = [s.pk for s in students]

    def correct(i):
        # The two marks name the students in opposite orders.
        return mark_many(
            session=sessions[-1 - i],
            student_ids=ids if i else ids[::-1],
            status="absent",
            by=None,
            reason="Register corrected",
        )

    for _ in range(3):  # a few rounds: the interleaving differs from run to run
        results = run_at_once(2, correct)
        assert not any(isinstance(r, Exception) for r in results), results
        assert AttendanceWarning.objects.count() == len(students)
        assert set(AttendanceWarning.objects.values_list("crossing", flat=True)) == {1}
        assert Standing.objects.filter(below=True, absent=2, present=8).count() == len(students)
        # Back above for the next round: the next fall is crossing 1 again only if
        # the warnings are cleared too.
        AttendanceRecord.objects.filter(session__in=sessions[-2:]).update(status="present")
        Standing.objects.all().delete()
        AttendanceWarning.objects.all().delete()
        from reports.standings import rebuild_all

        rebuild_all()
