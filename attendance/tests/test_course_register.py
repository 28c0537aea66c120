import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from attendance import reports
from attendance.models import AttendanceRecord, Course, NetworkSession
from attendance.registers import mark_attendance
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db


def page_url(course, **query):
    url = reverse("course-register", args=[course.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def csv_url(course):
    return reverse("course-register-csv", args=[course.pk])


def csv_rows(response):
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


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


def ended_sessions_over_months(course, students, months: int, per_month: int):
    """Ended sessions on the 3rd, 4th, ... of past months, everyone's records written."""
    made = []
    today = timezone.localdate()
    for m in range(months, 0, -1):
        year, month = divmod(today.year * 12 + today.month - 1 - m, 12)
        for d in range(per_month):
            day = datetime(year, month + 1, 3 + d, 9, 0, tzinfo=timezone.get_current_timezone())
            made.append(
                NetworkSession(
                    course=course,
                    date=day.date(),
                    started_at=day,
                    ended_at=day + timedelta(hours=1),
                    is_active=False,
                    end_reason="ended",
                    join_code="000000",
                    code_rotated_at=day,
                )
            )
    made = NetworkSession.objects.bulk_create(made)
    statuses = ["present", "late", "absent", "excused"]
    AttendanceRecord.objects.bulk_create(
        AttendanceRecord(
            session=s,
            student=st,
            status=statuses[(i + j) % 4],
            created_at=s.started_at,
            updated_at=s.started_at,
        )
        for i, s in enumerate(made)
        for j, st in enumerate(students)
    )
    return made


def test_the_summary_counts_each_student_and_rates_them(three_classes, course, students):
    rows = {r.student_id: r for r in reports.summary(course=course)}
    assert len(rows) == 5
    ada, bob = rows[students[0].pk], rows[students[1].pk]
    assert (ada.present, ada.late, ada.absent, ada.excused, ada.percent) == (3, 0, 0, 0, "100%")
    # Late counts as attended; excused is left out of the rate.
    assert (bob.present, bob.late, bob.absent, bob.excused, bob.percent) == (0, 1, 1, 1, "50%")
    assert rows[students[2].pk].percent == "0%"
    assert bob.rate == 0.5  # a number a template can mark, e.g. students at risk


def test_a_student_with_no_records_has_no_rate_and_sorts_last(course, make_students, three_classes):
    [newcomer] = make_students(1, course=course, prefix="N")
    rows = reports.summary(course=course, sort="rate")
    assert rows[-1].student_id == newcomer.pk and rows[-1].percent == "–"
    assert rows[0].percent == "0%"
    rows = reports.summary(course=course, sort="-rate")
    assert rows[0].percent == "100%" and rows[-1].student_id == newcomer.pk


def test_the_page_puts_the_summary_first_then_the_month_grid(
    lecturer_client, three_classes, course, students
):
    response = lecturer_client.get(page_url(course))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index('class="register-summary"') < html.index('class="register-grid"')
    assert students[0].student_number in html and "100%" in html
    assert csv_url(course) in html
    assert 'class="name-col"' in html  # the sticky name column
    first = timezone.localtime(three_classes[0].started_at)
    assert f"{first:%a} {first.day} {first:%b}<br>{first:%H:%M}" in html  # dated and timed
    assert "<svg" in html and "The same figures as a table" in html
    assert "style=" not in html and "<script" not in html.split("</header>")[1]


def test_the_summary_sorts_by_rate_absences_and_name(
    lecturer_client, three_classes, course, students
):
    def order(sort):
        response = lecturer_client.get(page_url(course, sort=sort))
        return [r.student_id for r in response.context["rows"]]

    assert order("-rate")[0] == students[0].pk
    assert order("rate")[-1] == students[0].pk
    assert order("absent")[0] == students[0].pk
    by_name = order("name")
    assert order("-name") == list(reversed(by_name))
    assert order("nonsense") == by_name


def test_the_grid_shows_one_month_and_pages_students(lecturer_client, course, make_students):
    students = make_students(60, course=course)
    sessions = ended_sessions_over_months(course, students, months=2, per_month=3)
    response = lecturer_client.get(page_url(course))
    assert [s.pk for s in response.context["sessions"]] == [s.pk for s in sessions[3:]]
    assert len(response.context["rows"]) == 50
    assert all(len(r.statuses) == 3 for r in response.context["rows"])
    earlier = response.context["months"][0]
    response = lecturer_client.get(page_url(course, month=earlier.key, page=2))
    assert [s.pk for s in response.context["sessions"]] == [s.pk for s in sessions[:3]]
    assert len(response.context["rows"]) == 10
    assert "Students 51–60 of 60" in response.content.decode()


def test_a_month_without_sessions_is_refused_with_a_note(lecturer_client, three_classes, course):
    response = lecturer_client.get(page_url(course, month="1999-01"))
    assert response.status_code == 200
    assert "No ended sessions in &#x27;1999-01&#x27;" in response.content.decode()
    assert len(response.context["sessions"]) >= 1


@pytest.mark.parametrize("pages", ["page", "csv"])
def test_its_query_count_does_not_grow(lecturer_client, course, make_students, pages):
    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            if pages == "page":
                assert lecturer_client.get(page_url(course)).status_code == 200
            else:
                csv_rows(lecturer_client.get(csv_url(course)))
        return len(ctx.captured_queries)

    few = make_students(5, course=course)
    ended_sessions_over_months(course, few, months=1, per_month=2)
    small = measure()
    NetworkSession.objects.filter(course=course).delete()
    many = few + make_students(120, course=course)
    ended_sessions_over_months(course, many, months=2, per_month=12)
    assert measure() == small


def test_the_csv_streams_the_whole_grid(lecturer_client, three_classes, course, students):
    response = lecturer_client.get(csv_url(course))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][:2] == ["Student number", "Name"] and rows[0][-1] == "Attendance %"
    assert len(rows[0]) == 2 + 3 + 5
    by_number = {row[0]: row for row in rows[1:]}
    assert len(by_number) == 5
    assert by_number[students[1].student_number][2:5] == ["absent", "late", "excused"]
    assert by_number[students[1].student_number][-5:] == ["0", "1", "1", "1", "50"]
    assert by_number[students[0].student_number][-1] == "100"


def test_the_csv_keeps_every_month(lecturer_client, course, make_students):
    students = make_students(3, course=course)
    ended_sessions_over_months(course, students, months=3, per_month=2)
    rows = csv_rows(lecturer_client.get(csv_url(course)))
    assert len(rows[0]) == 2 + 6 + 5 and len(rows) == 4


def test_a_name_that_looks_like_a_formula_is_defused(
    lecturer_client, three_classes, course, students
):
    students[2].first_name = "=HYPERLINK(1)"
    students[2].save()
    rows = csv_rows(lecturer_client.get(csv_url(course)))
    assert any(row[1] == "'=HYPERLINK(1) Last2" for row in rows)


@pytest.mark.parametrize(
    ("code", "filename"),
    [
        ('=X<b>"1', "register-_X_b_1.csv"),
        ("MATH101", "register-MATH101.csv"),
        ("A B\\C;D", "register-A_B_C_D.csv"),
        ("Ünï cödé", "register-_n_c_d.csv"),
    ],
)
def test_the_csv_file_name_is_quoted_and_sanitised_whatever_the_code(
    lecturer_client, course, code, filename
):
    Course.objects.filter(pk=course.pk).update(code=code)
    response = lecturer_client.get(csv_url(course))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_another_lecturer_and_the_fees_office_get_not_found(
    client, other_lecturer, course, three_classes, make_user
):
    from payments.permissions import ensure_fees_office_group

    office = make_user("office")
    office.groups.add(ensure_fees_office_group())
    for user in (other_lecturer, office):
        client.force_login(user)
        assert client.get(page_url(course)).status_code == 404
        assert client.get(csv_url(course)).status_code == 404


def test_anonymous_is_sent_to_login(client, course):
    assert client.get(page_url(course)).status_code == 302
    assert client.get(csv_url(course)).status_code == 302


def test_a_course_without_ended_sessions_shows_the_empty_state(lecturer_client, course, students):
    html = lecturer_client.get(page_url(course)).content.decode()
    assert "No ended sessions yet" in html


def test_a_course_without_students_says_how_to_add_them(lecturer_client, course):
    html = lecturer_client.get(page_url(course)).content.decode()
    assert "No students are enrolled" in html


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        (" =1+2", "' =1+2"),
        ("\t@SUM(A1)", "'\t@SUM(A1)"),
        ("  -2", "'  -2"),
        ("Ada", "Ada"),
        (" Ada", " Ada"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_defused_even_behind_spaces(value, written):
    from attendance.reports import csv_safe

    assert csv_safe(value) == written
