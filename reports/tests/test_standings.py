"""Standings kept with the register, and one warning for each fall below the threshold."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from attendance.models import AttendanceRecord, Student
from attendance.registers import mark_attendance, mark_many
from attendance.sessions import end_session, start_session
from outbox.models import OutboundEmail
from reports.models import AttendanceWarning, Standing
from reports.standings import register_changed
from reports.tests.builders import everyone, write_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailed(students, lecturer):
    """Every student and the lecturer with an address."""
    for s in students:
        s.email = f"{s.student_number.lower()}@school.example"
    Student.objects.bulk_update(students, ["email"])
    lecturer.email = "lecturer@school.example"
    lecturer.save(update_fields=["email"])
    return students


def standing(student, course) -> Standing:
    return Standing.objects.get(student=student, course=course)


def test_it_counts_each_status_and_leaves_excused_out_of_the_rate(course, students):
    ada = students[0]
    for status in ("present", "late", "absent", "excused", "present"):
        write_register(course, {ada: status})
    s = standing(ada, course)
    assert (s.held, s.present, s.late, s.absent, s.excused) == (5, 2, 1, 1, 1)
    assert s.rate == Decimal("0.7500")
    # Four counted sessions: not yet enough to be at risk whatever the rate.
    assert not s.below


def test_no_one_is_at_risk_before_the_courses_minimum_of_sessions(course, students):
    for _ in range(4):
        write_register(course, everyone(students, "absent"))
    assert Standing.objects.filter(course=course, below=True).count() == 0
    assert not AttendanceWarning.objects.exists()


def test_a_fall_below_warns_once_then_a_rise_clears_and_a_second_fall_warns_again(course, mailed):
    ada = mailed[0]
    for _ in range(5):
        write_register(course, {ada: "absent"})
    s = standing(ada, course)
    assert s.below and s.crossings == 1 and s.rate == Decimal("0")
    assert list(AttendanceWarning.objects.values_list("crossing", flat=True)) == [1]

    # Still below: no second warning.
    write_register(course, {ada: "absent"})
    register_changed(course_id=course.pk, student_ids=[ada.pk])
    assert AttendanceWarning.objects.count() == 1

    for _ in range(18):  # 18 of 24: exactly 75%, not below
        write_register(course, {ada: "present"})
    s = standing(ada, course)
    assert s.rate == Decimal("0.7500") and not s.below and s.crossings == 1
    assert AttendanceWarning.objects.count() == 1

    write_register(course, {ada: "absent"})
    s = standing(ada, course)
    assert s.below and s.crossings == 2
    assert list(
        AttendanceWarning.objects.order_by("crossing").values_list("crossing", flat=True)
    ) == [1, 2]
    keys = set(OutboundEmail.objects.values_list("key", flat=True))
    warnings = AttendanceWarning.objects.order_by("crossing")
    assert {f"attendance-warning:{w.pk}" for w in warnings} <= keys
    assert {f"attendance-warning-digest:{w.pk}" for w in warnings} <= keys
    assert len(keys) == 4


def test_the_warning_mail_has_text_and_html_and_the_digest_lists_who_fell(course, mailed, lecturer):
    for _ in range(5):
        write_register(course, {mailed[0]: "absent", mailed[1]: "absent", mailed[2]: "present"})
    warnings = list(AttendanceWarning.objects.order_by("pk"))
    assert len(warnings) == 2
    mail = OutboundEmail.objects.get(key=f"attendance-warning:{warnings[0].pk}")
    assert mail.to == [mailed[0].email]
    assert "MATH101" in mail.subject and "75%" in mail.subject
    assert "0%" in mail.body_text and "<strong>0%</strong>" in mail.body_html
    digest = OutboundEmail.objects.get(key=f"attendance-warning-digest:{warnings[0].pk}")
    assert digest.to == ["lecturer@school.example"]
    assert "2 students" in digest.subject
    for s in mailed[:2]:
        assert s.student_number in digest.body_text and s.student_number in digest.body_html
    assert mailed[2].student_number not in digest.body_text
    assert OutboundEmail.objects.count() == 3


def test_a_student_without_an_address_is_warned_without_mail(course, students):
    for _ in range(5):
        write_register(course, {students[0]: "absent"})
    assert AttendanceWarning.objects.count() == 1
    assert not OutboundEmail.objects.exists()  # no student address, no lecturer address


def test_a_students_login_address_is_used_when_the_roster_has_none(course, students, student_login):
    student_login.email = "own@login.example"
    student_login.save(update_fields=["email"])
    for _ in range(5):
        write_register(course, {students[0]: "absent"})
    assert OutboundEmail.objects.get().to == ["own@login.example"]


def test_a_rolled_back_register_write_leaves_no_standing_warning_or_mail(course, mailed):
    from django.db import transaction

    for _ in range(4):
        write_register(course, {mailed[0]: "absent"})
    with pytest.raises(RuntimeError), transaction.atomic():
        write_register(course, {mailed[0]: "absent"})
        assert standing(mailed[0], course).below
        raise RuntimeError("the register write fails")
    assert not standing(mailed[0], course).below
    assert not AttendanceWarning.objects.exists() and not OutboundEmail.objects.exists()


def _class_with(course, make_students, n, status="absent"):
    """n students with four sessions of `status` each: one more absence and they fall."""
    people = make_students(n, course=course, prefix=f"Q{n}-")
    Student.objects.filter(pk__in=[p.pk for p in people]).update(email="x@school.example")
    for _ in range(4):
        write_register(course, everyone(people, status), hook=False)
    register_changed(course_id=course.pk, student_ids=[p.pk for p in people])
    return people


@pytest.mark.parametrize("n", [3, 30])
def test_a_register_write_costs_eight_queries_when_everyone_falls(
    course, lecturer, make_students, n, django_assert_num_queries
):
    lecturer.email = "lecturer@school.example"
    lecturer.save(update_fields=["email"])
    people = _class_with(course, make_students, n)
    session = write_register(course, everyone(people, "absent"), hook=False)
    ids = [p.pk for p in people]
    # rows to lock, lock, the course, counts, upsert; warnings, lecturers' addresses, the outbox
    with django_assert_num_queries(8):
        register_changed(course_id=course.pk, student_ids=ids)
    assert AttendanceWarning.objects.filter(course=course).count() == n
    assert OutboundEmail.objects.count() == n + 1
    assert session.records.count() == n


@pytest.mark.parametrize("n", [3, 30])
def test_a_register_write_costs_five_queries_when_no_one_falls(
    course, make_students, n, django_assert_num_queries
):
    people = _class_with(course, make_students, n, "present")
    write_register(course, everyone(people, "absent"), hook=False)
    with django_assert_num_queries(5):
        register_changed(course_id=course.pk, student_ids=[p.pk for p in people])
    assert Standing.objects.filter(course=course, held=5).count() == n


@pytest.mark.parametrize("n", [3, 30])
def test_a_correction_of_many_costs_the_same_whatever_their_number(
    course, make_students, n, django_assert_num_queries
):
    people = _class_with(course, make_students, n, "present")
    session = write_register(course, everyone(people, "present"))
    type(course).objects.filter(pk=course.pk).update(warn_below_percent=90)  # 80% falls
    # mark_many's savepoint, lock, audit rows, update and release; the hook's eight
    with django_assert_num_queries(13):
        mark_many(
            session=session,
            student_ids=[p.pk for p in people],
            status="absent",
            by=None,
            reason="Register corrected",
        )
    assert AttendanceWarning.objects.filter(course=course).count() == n


def test_ending_a_session_updates_every_students_standing(course, students):
    session, _ = start_session(course=course, by=None)
    end_session(session=session)
    assert Standing.objects.filter(course=course, held=1, absent=1).count() == len(students)


def test_a_single_correction_updates_the_standing_and_a_no_op_mark_calls_no_hook(
    course, students, monkeypatch
):
    session = write_register(course, everyone(students, "absent"))
    record = AttendanceRecord.objects.get(session=session, student=students[0])
    mark_attendance(record=record, status="excused", by=None, reason="Doctor's note")
    s = standing(students[0], course)
    assert (s.absent, s.excused, s.rate) == (0, 1, None)

    calls = []
    monkeypatch.setattr("reports.standings.register_changed", lambda **kw: calls.append(kw))
    from attendance import hooks

    hooks._load.cache_clear()
    try:
        mark_attendance(record=record, status="excused", by=None, reason="Again")
        mark_many(
            session=session, student_ids=[students[0].pk], status="excused", by=None, reason="x"
        )
        assert calls == []
        mark_many(
            session=session, student_ids=[students[1].pk], status="present", by=None, reason="x"
        )
        assert calls == [{"course_id": course.pk, "student_ids": [students[1].pk]}]
    finally:
        hooks._load.cache_clear()


def test_rebuild_fills_standings_from_the_registers_without_warning(course, mailed, capsys):
    for _ in range(6):
        write_register(course, {mailed[0]: "absent", mailed[1]: "present"}, hook=False)
    call_command("rebuild_standings")
    assert "2 standings written" in capsys.readouterr().out
    assert standing(mailed[0], course).below and standing(mailed[0], course).crossings == 0
    assert not standing(mailed[1], course).below
    assert not AttendanceWarning.objects.exists() and not OutboundEmail.objects.exists()
    # Rising and falling after a rebuild warns as usual, with the next number.
    for _ in range(20):
        write_register(course, {mailed[0]: "present"})
    write_register(course, {mailed[0]: "absent"})
    for _ in range(10):
        write_register(course, {mailed[0]: "absent"})
    assert list(AttendanceWarning.objects.values_list("crossing", flat=True)) == [1]


def test_the_database_refuses_a_second_warning_for_one_crossing(course, students):
    from django.db import IntegrityError
    from django.utils import timezone

    AttendanceWarning.objects.create(
        student=students[0], course=course, crossing=1, rate=0, created_at=timezone.now()
    )
    with pytest.raises(IntegrityError):
        AttendanceWarning.objects.create(
            student=students[0], course=course, crossing=1, rate=0, created_at=timezone.now()
        )


def test_the_database_refuses_a_threshold_out_of_range(course):
    from django.db import IntegrityError

    from attendance.models import Course

    with pytest.raises(IntegrityError):
        Course.objects.filter(pk=course.pk).update(warn_below_percent=0)
