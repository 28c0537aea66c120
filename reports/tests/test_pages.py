"""The report pages and exports: who sees what, what they show, and their query counts."""

import csv
import io

import pytest
from django.urls import reverse

from attendance.models import Course, Enrollment
from reports.tests.builders import everyone, write_register

pytestmark = pytest.mark.django_db


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def at_risk(course, other_course, students):
    """In `course`: students[0] and [1] below 75% after five sessions, [2] not; in
    `other_course` (another lecturer's), students[0] below too."""
    Enrollment.objects.create(course=other_course, student=students[0])
    for day in range(5):
        write_register(
            course,
            {
                students[0]: "absent",
                students[1]: "late" if day < 2 else "absent",
                students[2]: "present",
            },
            days_ago=5 - day,
        )
        write_register(other_course, {students[0]: "absent"}, days_ago=5 - day)
    return students


def get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


# --- who may see what ---------------------------------------------------------------------

STUDENT_PAGE = "student"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff_user", 200),
        ("office_user", 200),
        ("lecturer", 200),  # teaches the student in `course`
        ("student_login", 200),  # the student themselves
        ("other_lecturer_only", 404),  # teaches none of the student's courses
        ("other_student_login", 404),
    ],
)
def test_the_student_report_answers_each_role(
    client, request, at_risk, who, status, make_user, course
):
    if who == "other_lecturer_only":
        user = make_user("stranger")
        Course.objects.create(code="ART1", title="Art").lecturers.add(user)
    else:
        user = request.getfixturevalue(who)
    response = get(client, user, reverse("reports:student-attendance", args=[at_risk[0].pk]))
    assert response.status_code == status


def test_a_lecturer_sees_only_their_own_courses_of_the_student(client, lecturer, at_risk):
    response = get(client, lecturer, reverse("reports:student-attendance", args=[at_risk[0].pk]))
    assert "MATH101" in response.text and "HIST201" not in response.text


def test_staff_and_the_student_see_every_course(client, staff_user, student_login, at_risk):
    url = reverse("reports:student-attendance", args=[at_risk[0].pk])
    for user in (staff_user, student_login):
        text = get(client, user, url).text
        assert "MATH101" in text and "HIST201" in text
        assert "At risk: below 75%" in text


def test_the_student_report_asks_a_visitor_to_sign_in(client, at_risk):
    response = client.get(reverse("reports:student-attendance", args=[at_risk[0].pk]))
    assert response.status_code == 302 and "/login/" in response.url


def test_an_unknown_student_is_not_found(client, staff_user):
    response = get(client, staff_user, reverse("reports:student-attendance", args=[999999]))
    assert response.status_code == 404


COURSE_PAGES = [
    "reports:course-at-risk",
    "reports:course-at-risk-csv",
    "reports:course-at-risk-xlsx",
]


@pytest.mark.parametrize("name", COURSE_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff_user", 200),
        ("office_user", 200),
        ("lecturer", 200),
        ("other_lecturer", 404),
        ("student_login", 403),  # a staff page, refused to students
    ],
)
def test_a_courses_at_risk_pages_answer_each_role(
    client, request, at_risk, course, name, who, status
):
    user = request.getfixturevalue(who)
    assert get(client, user, reverse(name, args=[course.pk])).status_code == status


@pytest.mark.parametrize("name", COURSE_PAGES)
def test_a_courses_at_risk_pages_ask_a_visitor_to_sign_in(client, course, name):
    assert client.get(reverse(name, args=[course.pk])).status_code == 302


SCHOOL_PAGES = [
    "reports:school-at-risk",
    "reports:school-at-risk-csv",
    "reports:school-at-risk-xlsx",
]


@pytest.mark.parametrize("name", SCHOOL_PAGES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff_user", 200),
        ("office_user", 200),
        ("lecturer", 200),
        ("student_login", 403),
        ("nobody", 403),
        (None, 302),
    ],
)
def test_the_school_list_answers_each_role(client, request, at_risk, make_user, name, who, status):
    user = make_user("nobody") if who == "nobody" else who and request.getfixturevalue(who)
    assert get(client, user, reverse(name)).status_code == status


def test_a_lecturer_in_the_lecturers_group_without_courses_sees_an_empty_list(
    client, make_user, lecturers_group, at_risk
):
    user = make_user("new-lecturer")
    user.groups.add(lecturers_group)
    response = get(client, user, reverse("reports:school-at-risk"))
    assert response.status_code == 200
    assert "No student is below their course's threshold in your courses" in response.text


# --- what the lists hold ------------------------------------------------------------------


def test_the_course_list_holds_who_is_below_lowest_rate_first(client, lecturer, at_risk, course):
    text = get(client, lecturer, reverse("reports:course-at-risk", args=[course.pk])).text
    assert text.index(at_risk[0].student_number) < text.index(at_risk[1].student_number)
    assert at_risk[2].student_number not in text
    assert "At risk" in text


def test_the_school_list_shows_staff_every_course_and_a_lecturer_their_own(
    client, staff_user, other_lecturer, at_risk
):
    rows = csv_rows(get(client, staff_user, reverse("reports:school-at-risk-csv")))
    assert rows[0][:2] == ["Course", "Student number"]
    assert sorted((r[0], r[1]) for r in rows[1:]) == sorted(
        [
            ("HIST201", at_risk[0].student_number),
            ("MATH101", at_risk[0].student_number),
            ("MATH101", at_risk[1].student_number),
        ]
    )
    client.logout()
    rows = csv_rows(get(client, other_lecturer, reverse("reports:school-at-risk-csv")))
    assert [(r[0], r[1]) for r in rows[1:]] == [("HIST201", at_risk[0].student_number)]
    text = get(client, other_lecturer, reverse("reports:school-at-risk")).text
    assert "HIST201" in text and "MATH101" not in text


def test_the_course_list_has_an_empty_state(client, lecturer, course, students):
    text = get(client, lecturer, reverse("reports:course-at-risk", args=[course.pk])).text
    assert "No student of MATH101 is below 75%" in text


def test_the_exports_are_named_safely_and_defuse_formulas(client, staff_user, at_risk, course):
    Course.objects.filter(pk=course.pk).update(code='=M"A\nT')
    type(at_risk[0]).objects.filter(pk=at_risk[0].pk).update(first_name="=cmd()")
    response = get(client, staff_user, reverse("reports:course-at-risk-csv", args=[course.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="at-risk-_M_A_T.csv"'
    rows = csv_rows(response)
    assert rows[1][0] == "'=M\"A\nT" and rows[1][2] == "'=cmd()"
    assert rows[1][4] == "0.0"
    response = get(client, staff_user, reverse("reports:course-at-risk-xlsx", args=[course.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="at-risk-_M_A_T.xlsx"'
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.values)
    assert values[0][0] == "Course" and values[1][2] == "'=cmd()"


def test_the_register_page_marks_rows_at_risk_with_a_word_and_links_the_list(
    client, lecturer, at_risk, course
):
    text = get(client, lecturer, reverse("course-register", args=[course.pk])).text
    assert text.count('<span class="badge badge-risk">At risk</span>') == 2
    assert reverse("reports:course-at-risk", args=[course.pk]) in text


def test_the_navigation_links_the_school_list(client, lecturer):
    text = get(client, lecturer, reverse("dashboard")).text
    assert f'href="{reverse("reports:school-at-risk")}"' in text


def test_the_student_report_draws_the_trend_with_a_legend_and_a_table(client, staff_user, at_risk):
    text = get(client, staff_user, reverse("reports:student-attendance", args=[at_risk[0].pk])).text
    assert "<svg" in text and "<polyline" in text and 'class="trend-legend"' in text
    assert "The same figures as a table" in text
    assert text.count("<circle") >= 10
    assert "Sessions 1–10 of 10" not in text  # one page: no pager
    assert text.count("Absent</td>") == 20  # ten in the chart's table, ten in the list


def test_the_student_report_has_empty_states(client, staff_user, make_students):
    [lonely] = make_students(1)
    text = get(client, staff_user, reverse("reports:student-attendance", args=[lonely.pk])).text
    assert "is in no course yet" in text


# --- constant query counts ----------------------------------------------------------------


def _session_queries(settings) -> int:
    """The web session is read from the cache when Redis is configured."""
    return 1 if settings.SESSION_ENGINE.endswith(".db") else 0


def _more(course, students, n):
    for day in range(n):
        write_register(course, everyone(students, "absent"), days_ago=10 + day)


@pytest.mark.parametrize("extra", [0, 30])
def test_the_student_report_costs_the_same_whatever_the_history(
    client, staff_user, at_risk, course, extra, django_assert_num_queries, settings
):
    _more(course, at_risk, extra)
    client.force_login(staff_user)
    url = reverse("reports:student-attendance", args=[at_risk[0].pk])
    # (session,) user, student, courses, term, trend, count, standings, page
    with django_assert_num_queries(_session_queries(settings) + 8):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_the_at_risk_lists_cost_the_same_whatever_their_length(
    client, lecturer, course, make_students, size, django_assert_num_queries, settings
):
    people = make_students(size, course=course)
    for day in range(5):
        write_register(course, everyone(people, "absent"), days_ago=day)
    client.force_login(lecturer)
    # (session,) user, office group, course, count, page
    with django_assert_num_queries(_session_queries(settings) + 5):
        assert client.get(reverse("reports:course-at-risk", args=[course.pk])).status_code == 200
    # (session,) user, office group, courses taught, count, page
    with django_assert_num_queries(_session_queries(settings) + 5):
        assert client.get(reverse("reports:school-at-risk")).status_code == 200
