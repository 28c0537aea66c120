"""Register corrections racing each other, and a rebuild: one warning per fall, exact counts."""

import pytest
from django.db import transaction

from attendance.models import AttendanceRecord, Course
from attendance.registers import mark_attendance, mark_many
from conftest import in_thread, run_at_once, wait_until_blocked_on_a_lock
from reports.models import AttendanceWarning, Standing
from reports.standings import rebuild_all, rebuild_course
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
        rebuild_all()


def _standing(student, course) -> tuple:
    s = Standing.objects.get(student=student, course=course)
    return (s.held, s.present, s.absent, s.below, s.crossings)


def test_a_rebuild_racing_a_correction_writes_its_counts_and_keeps_the_crossing(
    strict_course, students
):
    ada = students[0]
    sessions = [write_register(strict_course, {ada: "present"}) for _ in range(12)]
    record = AttendanceRecord.objects.get(session=sessions[-1], student=ada)
    with transaction.atomic():
        # The correction has written ada's fall (warning 1) and holds her standing;
        # the rebuild starts before it commits.
        mark_attendance(record=record, status="absent", by=None, reason="Sick note lost")
        thread, outcome = in_thread(lambda: rebuild_course(course=strict_course))
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert _standing(ada, strict_course) == (12, 11, 1, True, 1)
    # A rise and the next fall: warning 2, not a second warning 1.
    mark_attendance(record=record, status="present", by=None, reason="Found it")
    mark_attendance(record=record, status="absent", by=None, reason="Lost it again")
    assert _standing(ada, strict_course) == (12, 11, 1, True, 2)
    assert sorted(AttendanceWarning.objects.values_list("crossing", flat=True)) == [1, 2]


def test_a_correction_waiting_on_a_rebuild_for_a_new_threshold_judges_by_it(course, students):
    ada = students[0]
    sessions = [write_register(course, {ada: "present"}) for _ in range(10)]
    record = AttendanceRecord.objects.get(session=sessions[-1], student=ada)
    with transaction.atomic():
        # An admin raises the threshold from 75 % to 95 %; its rebuild has locked the
        # course's standings when a correction arrives (9 of 10: 90 %).
        Course.objects.filter(pk=course.pk).update(warn_below_percent=95)
        list(Standing.objects.select_for_update().filter(course=course).order_by("student_id"))
        thread, outcome = in_thread(
            lambda: mark_attendance(record=record, status="absent", by=None, reason="Note")
        )
        wait_until_blocked_on_a_lock(thread, outcome)
        rebuild_course(course=Course.objects.get(pk=course.pk))
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    # 90 % is below the 95 % the course has now: at risk, and warned.
    assert _standing(ada, course) == (10, 9, 1, True, 1)
    assert AttendanceWarning.objects.filter(student=ada, crossing=1).count() == 1


def test_rebuilds_racing_corrections_of_a_whole_class_leave_exact_standings(
    strict_course, students
):
    sessions = [write_register(strict_course, everyone(students, "present")) for _ in range(10)]
    ids = [s.pk for s in students]

    def work(i):
        if i % 2:
            return rebuild_course(course=strict_course)
        # Each correction makes the whole class fall once more.
        return mark_many(
            session=sessions[i // 2], student_ids=ids, status="absent", by=None, reason="Trip"
        )

    results = run_at_once(6, work)
    assert not any(isinstance(r, Exception) for r in results), results
    # Three absences of ten: each student fell once, at the first correction.
    exact = Standing.objects.filter(held=10, present=7, absent=3, below=True, crossings=1)
    assert exact.count() == len(students)
    assert AttendanceWarning.objects.count() == len(students)
