"""The timetable's pages: one's own week, a course's week, the dashboard's today panel,
cancelling and restoring a class, extra classes, the late threshold."""

import re
from datetime import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from attendance.models import Course, Student
from timetable.models import Meeting, Occurrence
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def monday_morning():
    with time_machine.travel(at(MONDAY, 8, 0), tick=False):
        yield


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


@pytest.fixture
def week(course, make_meeting):
    make_meeting(course, weekday=0, at=time(9, 0), room="A1")
    return make_meeting(course, weekday=2, at=time(11, 0), auto_start=False)


def test_my_week_shows_the_lecturers_classes_and_the_next_one(lecturer_client, week):
    html = lecturer_client.get(reverse("timetable:week")).content.decode()
    assert "Monday 2 Mar" in html and "Wednesday 4 Mar" in html
    assert "opens <time" in html and "08:55</time> automatically" in html
    assert "start it yourself" in html
    assert "Next: <strong>MATH101</strong> Mon 2 Mar at" in html
    assert html.count("Cancel today's class") == 1  # Monday's; Wednesday's is "Cancel class"


def test_a_student_sees_their_own_week_without_buttons(client, week, students, make_user):
    user = make_user("ada")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    client.force_login(user)
    html = client.get(reverse("timetable:week")).content.decode()
    assert "MATH101" in html
    assert "Cancel" not in html


def test_someone_without_classes_sees_what_to_expect(client, make_user):
    client.force_login(make_user("office"))
    html = client.get(reverse("timetable:week")).content.decode()
    assert "No classes this week." in html


def test_a_bad_week_says_so_and_shows_this_week(lecturer_client, week):
    html = lecturer_client.get(reverse("timetable:week"), {"week": "someday"}).content.decode()
    assert "&#x27;someday&#x27; is not a date" in html
    assert "Monday 2 Mar" in html


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_a_week_at_the_end_of_the_calendar_says_so_and_shows_this_week(
    lecturer_client, week, course, far
):
    for url in (reverse("timetable:week"), reverse("timetable:course-week", args=[course.pk])):
        response = lecturer_client.get(url, {"week": far})
        assert response.status_code == 200
        html = response.content.decode()
        assert f"{far} is outside 1900-2999" in html and "Monday 2 Mar" in html


def test_another_week_is_reached_by_its_links(lecturer_client, week):
    html = lecturer_client.get(reverse("timetable:week"), {"week": "2026-03-11"}).content.decode()
    assert "Monday 9 Mar" in html and 'href="?week=2026-03-02"' in html


def test_a_courses_week_is_for_its_lecturers_and_staff_only(
    client, lecturer_client, week, course, other_lecturer, staff_user
):
    url = reverse("timetable:course-week", args=[course.pk])
    html = lecturer_client.get(url).content.decode()
    assert "MATH101 · week" in html and "Mondays 09:00, 60 min, A1" in html
    client.force_login(other_lecturer)
    assert client.get(url).status_code == 404
    client.force_login(staff_user)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("n", [1, 8])
def test_my_week_reads_a_constant_number_of_queries(
    client, make_user, make_meeting, n, django_assert_num_queries, settings
):
    user = make_user("busy")
    for i in range(n):
        course = Course.objects.create(code=f"C{i}", title="t")
        course.lecturers.add(user)
        make_meeting(course, weekday=i % 5, at=time(8 + i, 0))
    client.force_login(user)
    client.get(reverse("timetable:week"))  # the web session's first read
    # web session (unless Redis caches it), user; week: meetings, occurrences,
    # closures; "next class" (found in its first window); which courses may be managed; feed.
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    with django_assert_num_queries(session_queries + 1 + 3 + 3 + 1 + 1):
        assert client.get(reverse("timetable:week")).status_code == 200


# --- the dashboard's panel ----------------------------------------------------


def test_the_today_panel_lists_todays_classes_with_when_they_open(lecturer_client, week):
    html = lecturer_client.get(reverse("timetable:today"), **HTMX).content.decode()
    assert "<html" not in html
    assert "MATH101" in html and "08:55</time> automatically" in html
    assert 'hx-target="#today"' in html
    assert "Next: <strong>MATH101</strong> Mon 2 Mar at" in html
    # The rest of the week folds away below today.
    assert "Rest of this week: 1 class</summary>" in html and "Wednesday 4 Mar" in html


@pytest.mark.parametrize("n", [1, 8])
def test_the_panel_reads_a_constant_number_of_queries(
    client, make_user, make_meeting, n, django_assert_num_queries, settings
):
    user = make_user("busy")
    for i in range(n):
        course = Course.objects.create(code=f"C{i}", title="t")
        course.lecturers.add(user)
        make_meeting(course, weekday=i % 5, at=time(9 + i, 0))
    client.force_login(user)
    client.get(reverse("timetable:today"), **HTMX)
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    # web session, user; the week's meetings, occurrences and closures.
    with django_assert_num_queries(session_queries + 1 + 3):
        assert client.get(reverse("timetable:today"), **HTMX).status_code == 200


def test_the_panel_opened_on_its_own_is_the_dashboard(lecturer_client, week):
    response = lecturer_client.get(reverse("timetable:today"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard") + "#today"


def test_the_dashboard_loads_the_panel_from_the_timetable(lecturer_client, course):
    html = lecturer_client.get(reverse("dashboard")).content.decode()
    assert f'hx-get="{reverse("timetable:today")}"' in html


def test_cancelling_todays_class_from_the_panel_answers_with_the_panel(
    lecturer_client, week, course
):
    monday = Meeting.objects.get(weekday=0)
    response = lecturer_client.post(
        reverse("timetable:cancel"),
        {"meeting": monday.pk, "date": "2026-03-02", "reason": "Ill", "next": "/"},
        **HTMX,
    )
    html = response.content.decode()
    assert "MATH101 on Mon 02 Mar is cancelled." in html
    assert 'Cancelled</span> <span class="muted">Ill</span>' in html
    occurrence = Occurrence.objects.get()
    assert (occurrence.status, occurrence.reason, occurrence.date) == ("cancelled", "Ill", MONDAY)
    # Undone from the same panel.
    response = lecturer_client.post(
        reverse("timetable:restore"), {"occurrence": occurrence.pk}, **HTMX
    )
    assert "is back on" in response.content.decode()
    assert not Occurrence.objects.exists()
    # A second click (or a colleague's) finds it already back on: a message, not a 404.
    again = lecturer_client.post(
        reverse("timetable:restore"), {"occurrence": occurrence.pk}, **HTMX
    )
    assert again.status_code == 200
    assert "already back on" in again.content.decode()


def test_another_lecturers_class_cannot_be_cancelled(client, other_lecturer, week):
    client.force_login(other_lecturer)
    monday = Meeting.objects.get(weekday=0)
    response = client.post(reverse("timetable:cancel"), {"meeting": monday.pk, "date": MONDAY})
    assert response.status_code == 404
    assert not Occurrence.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2026-03-02"}, "Meeting: This field is required."),
        ({"date": "2026-03-03"}, "has no class then"),
        ({"date": "soon"}, "Date: Enter a valid date."),
        ({"date": "9999-12-31"}, "Date: Ensure this value is less than or equal to 2999-12-31."),
    ],
)
def test_a_bad_cancel_says_why_and_changes_nothing(lecturer_client, week, data, message):
    data.setdefault("meeting", Meeting.objects.get(weekday=0).pk)
    if message.startswith("Meeting"):
        data.pop("meeting")
    response = lecturer_client.post(reverse("timetable:cancel"), data, follow=True)
    assert message in response.content.decode()
    assert not Occurrence.objects.exists()


def test_a_cancel_returns_to_a_page_of_this_site_only(lecturer_client, week):
    monday = Meeting.objects.get(weekday=0)
    response = lecturer_client.post(
        reverse("timetable:cancel"),
        {"meeting": monday.pk, "date": "2026-03-02", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("timetable:course-week", args=[monday.course_id])


# --- extra classes and the late threshold ----------------------------------------------------


def test_a_lecturer_adds_an_extra_class(lecturer_client, course, week):
    response = lecturer_client.post(
        reverse("timetable:extra-class", args=[course.pk]),
        {"date": "2026-03-06", "start_time": "15:00", "duration_minutes": "45", "room": "Lab"},
        follow=True,
    )
    html = response.content.decode()
    assert "Extra class on Fri 06 Mar at 15:00 added." in html
    assert "Extra class Fri 6 Mar 15:00, 45 min, Lab" in html
    meeting = Meeting.objects.get(valid_from="2026-03-06")
    assert meeting.is_one_off and meeting.weekday == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2026-03-01", "start_time": "15:00"}, "cannot be in the past"),
        ({"date": "2026-03-02", "start_time": "09:30"}, "overlaps MATH101 Monday 09:00"),
        ({"date": "2026-08-03", "start_time": "09:00"}, "No term includes"),
        ({"date": "2026-03-06", "start_time": "25:00"}, "Start time: Enter a valid time."),
        (
            {"date": "9999-12-31", "start_time": "23:00"},
            "Date: Ensure this value is less than or equal to 2999-12-31.",
        ),
    ],
)
def test_a_bad_extra_class_says_why_and_saves_nothing(lecturer_client, course, week, data, message):
    before = Meeting.objects.count()
    response = lecturer_client.post(
        reverse("timetable:extra-class", args=[course.pk]),
        {"duration_minutes": "60", **data},
        follow=True,
    )
    assert message in response.content.decode()
    assert Meeting.objects.count() == before


def test_the_course_late_threshold_is_set_and_cleared(lecturer_client, course):
    url = reverse("timetable:late-threshold", args=[course.pk])
    assert (
        "late after 15 minutes"
        in lecturer_client.post(url, {"minutes": "15"}, follow=True).content.decode()
    )
    course.refresh_from_db()
    assert course.late_after_minutes == 15
    lecturer_client.post(url, {"minutes": ""})
    course.refresh_from_db()
    assert course.late_after_minutes is None
    html = lecturer_client.post(url, {"minutes": "-3"}, follow=True).content.decode()
    assert "Minutes: Ensure this value is greater than or equal to 0." in html
    course.refresh_from_db()
    assert course.late_after_minutes is None


def test_another_lecturer_cannot_change_the_threshold(client, other_lecturer, course):
    client.force_login(other_lecturer)
    url = reverse("timetable:late-threshold", args=[course.pk])
    assert client.post(url, {"minutes": "1"}).status_code == 404


# --- what every new template keeps to ----------------------------------------------------


NEW_TEMPLATES = [
    *sorted((Path(settings.BASE_DIR) / "templates" / "timetable").glob("*.html")),
    *(
        Path(settings.BASE_DIR) / "templates" / "attendance" / name
        for name in (
            "_session_roster.html",
            "_end_confirm.html",
            "end_confirm.html",
            "_projector.html",
            "projector.html",
        )
    ),
]


@pytest.mark.parametrize("path", NEW_TEMPLATES, ids=lambda p: p.name)
def test_templates_hold_no_inline_script_or_style(path):
    """A strict Content-Security-Policy (script-src 'self') is coming."""
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert "<style" not in text and "style=" not in text
    assert not re.search(r"\son[a-z]+=", text), "on* handler"
    assert "hx-on" not in text and "javascript:" not in text


def test_pages_fit_a_phone(lecturer_client, week):
    css = (Path(settings.BASE_DIR) / "static" / "css" / "timetable.css").read_text()
    # The rows are a two-column grid on a phone, three columns from 700 px up.
    assert "grid-template-columns:7.5rem 1fr;" in css and "@media (min-width:700px)" in css


def test_it_runs_without_javascript_too(lecturer_client, week):
    # Plain forms post and redirect; htmx attributes only add the in-place swap.
    html = lecturer_client.get(reverse("timetable:week")).content.decode()
    assert f'<form method="post" action="{reverse("timetable:cancel")}"' in html


def test_a_cancel_whose_next_is_no_path_goes_back_to_the_week(lecturer_client, week, course):
    # redirect() took "abc" for a URL pattern's name: a 500 after the class was cancelled.
    monday = Meeting.objects.get(weekday=0)
    response = lecturer_client.post(
        reverse("timetable:cancel"),
        {"meeting": monday.pk, "date": "2026-03-02", "reason": "Ill", "next": "abc"},
    )
    week_page = reverse("timetable:course-week", args=[course.pk])
    assert (response.status_code, response.url) == (302, week_page)
    assert Occurrence.objects.get().status == "cancelled"
    bad = lecturer_client.post(reverse("timetable:restore"), {"occurrence": "x", "next": "abc"})
    assert (bad.status_code, bad.url) == (302, reverse("timetable:week"))
