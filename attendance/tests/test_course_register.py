import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord, Course
from attendance.registers import mark_attendance
from attendance.reports import course_register
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


@pytest.fixture
def three_classes(course, students, lecturer):
    """Three ended classes: students[0] always on time, students[1] late once and
    excused once, the rest never there; plus one class still running."""
    sessions = []
    for day in (3, 2, 1):
        start = timezone.now() - timedelta(days=day)
        session, _ = start_session(course=course, by=lecturer, now=start)
        join(session, students[0], start)
        if day == 2:
            join(session, students[1], start + timedelta(minutes=30))
        end_session(session=session, now=start + timedelta(hours=1))
        sessions.append(session)
    record = AttendanceRecord.objects.get(session=sessions[2], student=students[1])
    mark_attendance(record=record, status="excused", by=lecturer, reason="Sick note")
    start_session(course=course, by=lecturer)
    return sessions


def test_the_register_has_a_column_per_ended_session_and_a_row_per_student(
    three_classes, course, students
):
    register = course_register(course=course)
    assert [c.session.pk for c in register.columns] == [s.pk for s in three_classes]
    rows = {row.student.pk: row for row in register.rows}
    assert len(rows) == 5
    assert rows[students[0].pk].statuses == ["present", "present", "present"]
    assert rows[students[1].pk].statuses == ["absent", "late", "excused"]


def test_late_counts_as_attended_and_excused_is_left_out_of_the_rate(
    three_classes, course, students
):
    rows = {row.student.pk: row for row in course_register(course=course).rows}
    assert rows[students[0].pk].percent == "100%"
    assert rows[students[1].pk].percent == "50%"
    assert rows[students[2].pk].percent == "0%"


def test_a_student_with_no_records_has_no_rate(course, make_students, three_classes):
    [newcomer] = make_students(1, course=course, prefix="N")
    row = next(r for r in course_register(course=course).rows if r.student == newcomer)
    assert row.statuses == ["", "", ""] and row.percent == "–"


@pytest.mark.parametrize("class_size", [5, 60])
def test_its_query_count_does_not_grow(
    course, make_students, lecturer, class_size, django_assert_num_queries
):
    make_students(class_size, course=course)
    for day in (2, 1):
        session, _ = start_session(
            course=course, by=lecturer, now=timezone.now() - timedelta(days=day)
        )
        end_session(session=session)
    with django_assert_num_queries(3):
        register = course_register(course=course)
    assert len(register.rows) == class_size


def test_the_page_shows_the_grid_and_the_chart(lecturer_client, three_classes, course, students):
    response = lecturer_client.get(reverse("course-register", args=[course.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert students[0].student_number in html and "100%" in html
    assert 'class="chart"' in html and 'class="table-wrap"' in html
    assert reverse("course-register-csv", args=[course.pk]) in html


def test_the_csv_has_one_line_per_student(lecturer_client, three_classes, course, students):
    response = lecturer_client.get(reverse("course-register-csv", args=[course.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Student number", "Name"] and rows[0][-1] == "Attendance %"
    assert len(rows[0]) == 2 + 3 + 5
    by_number = {row[0]: row for row in rows[1:]}
    assert by_number[students[1].student_number][2:5] == ["absent", "late", "excused"]
    assert by_number[students[1].student_number][-1] == "50"


def test_a_name_that_looks_like_a_formula_is_defused(
    lecturer_client, three_classes, course, students
):
    students[2].first_name = "=HYPERLINK(1)"
    students[2].save()
    body = lecturer_client.get(reverse("course-register-csv", args=[course.pk])).content.decode()
    assert "'=HYPERLINK(1)" in body


def test_another_lecturer_gets_not_found(client, other_lecturer, course):
    client.force_login(other_lecturer)
    assert client.get(reverse("course-register", args=[course.pk])).status_code == 404
    assert client.get(reverse("course-register-csv", args=[course.pk])).status_code == 404


def test_a_course_without_ended_sessions_shows_the_empty_state(lecturer_client, course):
    html = lecturer_client.get(reverse("course-register", args=[course.pk])).content.decode()
    assert "No ended sessions yet" in html
    assert Course.objects.count() == 1
