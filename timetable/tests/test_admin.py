"""Admin: meetings inline on the course (with the timetable's rules), copying a term's
timetable, closures, the record of classes, calendar addresses."""

from datetime import date, time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from attendance.models import Course
from payments.models import Term
from timetable import feeds, meetings
from timetable.models import CalendarFeed, Closure, Meeting, Occurrence
from timetable.tests.builders import MONDAY, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


def course_form(course, rows: list[dict], existing: list[Meeting] = ()) -> dict:
    data = {
        "code": course.code,
        "title": course.title,
        "lecturers": [u.pk for u in course.lecturers.all()],
        "late_after_minutes": "",
        "warn_below_percent": "75",
        "warn_after_sessions": "5",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "meetings-TOTAL_FORMS": str(len(rows)),
        "meetings-INITIAL_FORMS": str(len(existing)),
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"meetings-{i}-{key}"] = value
        data[f"meetings-{i}-course"] = course.pk
        if i < len(existing):
            data[f"meetings-{i}-id"] = existing[i].pk
    return data


def row(term, weekday="0", start="09:00", minutes="60", **extra) -> dict:
    return {
        "term": term.pk,
        "weekday": weekday,
        "start_time": start,
        "duration_minutes": minutes,
        "room": "",
        "late_after_minutes": "",
        "warn_below_percent": "75",
        "warn_after_sessions": "5",
        "auto_start": "on",
        "valid_from": "",
        "valid_to": "",
        **extra,
    }


def change_url(course) -> str:
    return reverse("admin:attendance_course_change", args=[course.pk])


def test_meetings_are_added_inline_on_the_course_valid_for_the_term(admin_client, course, term):
    response = admin_client.post(
        change_url(course),
        course_form(course, [row(term), row(term, weekday="2", start="14:00", room="B2")]),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    saved = list(Meeting.objects.order_by("weekday"))
    assert [(m.weekday, m.start_time, m.valid_from, m.valid_to) for m in saved] == [
        (0, time(9), term.starts_on, term.ends_on),
        (2, time(14), term.starts_on, term.ends_on),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"start": "09:00"}, {"start": "09:30"}], "overlaps MATH101 Monday 09:00–10:00"),
        ([{"valid_from": "2026-03-10", "valid_to": "2026-03-01"}], "before it starts"),
        ([{"valid_from": "2026-05-04", "valid_to": "2026-05-30"}], "inside its term"),
        ([{"minutes": "2"}], "at least 5 minutes"),
    ],
)
def test_bad_meetings_are_refused_with_the_services_words_and_nothing_saved(
    admin_client, course, term, rows, message
):
    data = course_form(course, [row(term, **r) for r in rows])
    response = admin_client.post(change_url(course), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Meeting.objects.exists()


def test_a_clash_in_a_lecturers_week_is_saved_with_a_warning(
    admin_client, course, term, lecturer, make_meeting
):
    physics = Course.objects.create(code="PHYS110", title="Mechanics")
    physics.lecturers.add(lecturer)
    make_meeting(physics, at=time(9, 30))
    response = admin_client.post(change_url(course), course_form(course, [row(term)]), follow=True)
    assert "Clash in a lecturer&#x27;s week: PHYS110 also meets Monday 09:30" in (
        response.content.decode()
    )
    assert Meeting.objects.filter(course=course).count() == 1


def test_the_meeting_admin_checks_the_courses_other_meetings(
    admin_client, course, term, make_meeting
):
    make_meeting(course)
    data = {**row(term, start="09:15"), "course": course.pk}
    response = admin_client.post(reverse("admin:timetable_meeting_add"), data)
    assert "overlaps MATH101 Monday 09:00–10:00" in response.content.decode()
    assert Meeting.objects.count() == 1


@pytest.mark.postgres
def test_an_overlap_only_the_database_catches_is_a_message_not_a_server_error(
    admin_client, course, term, make_meeting, monkeypatch
):
    make_meeting(course)
    # As if the other meeting had been written past the timetable's checks.
    monkeypatch.setattr(meetings, "overlap_problems", lambda **kwargs: [])
    data = {**row(term, start="09:15"), "course": course.pk}
    response = admin_client.post(reverse("admin:timetable_meeting_add"), data, follow=True)
    assert response.status_code == 200
    assert "It overlaps another meeting of the course" in response.content.decode()
    assert Meeting.objects.count() == 1


@pytest.fixture
def summer(term):
    return Term.objects.create(
        name="Summer Term", year=2026, starts_on=date(2026, 5, 4), ends_on=date(2026, 7, 17),
        fee=Decimal("120.00"), due_on=date(2026, 6, 1),
    )  # fmt: skip


def test_copy_last_terms_timetable_from_the_courses_list(
    admin_client, course, other_course, term, summer, make_meeting
):
    from payments import ledger

    make_meeting(course)
    make_meeting(other_course, weekday=1)
    ledger.activate_term(term=summer)
    response = admin_client.post(
        reverse("admin:attendance_course_changelist"),
        {"action": "copy_last_terms_timetable", "_selected_action": [course.pk]},
        follow=True,
    )
    assert "1 meeting(s) copied into Summer Term" in response.content.decode()
    assert list(Meeting.objects.filter(term=summer).values_list("course__code", flat=True)) == [
        "MATH101"
    ]


def test_copy_the_previous_timetable_from_the_terms_list(
    admin_client, course, other_course, term, summer, make_meeting
):
    make_meeting(course)
    make_meeting(other_course, weekday=1)
    response = admin_client.post(
        reverse("admin:payments_term_changelist"),
        {"action": "copy_previous_timetable", "_selected_action": [summer.pk]},
        follow=True,
    )
    assert "2 meeting(s) copied into Summer Term" in response.content.decode()
    response = admin_client.post(
        reverse("admin:payments_term_changelist"),
        {"action": "copy_previous_timetable", "_selected_action": [term.pk]},
        follow=True,
    )
    assert "No term comes before Spring Term" in response.content.decode()


def test_every_timetable_page_of_admin_loads(admin_client, course, make_meeting, lecturer):
    meeting = make_meeting(course)
    Closure.objects.create(name="Easter", starts_on=date(2026, 4, 3), ends_on=date(2026, 4, 10))
    meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 7))
    feeds.feed_create(user=lecturer)
    for model in (Meeting, Closure, Occurrence, CalendarFeed):
        name = model._meta.model_name
        assert admin_client.get(reverse(f"admin:timetable_{name}_changelist")).status_code == 200
        obj = model.objects.first()
        assert (
            admin_client.get(reverse(f"admin:timetable_{name}_change", args=[obj.pk])).status_code
            == 200
        )
    assert admin_client.get(change_url(course)).status_code == 200


def test_staff_stop_a_calendar_address(admin_client, lecturer):
    feed, key = feeds.feed_create(user=lecturer)
    admin_client.post(
        reverse("admin:timetable_calendarfeed_changelist"),
        {"action": "revoke", "_selected_action": [feed.pk]},
    )
    assert feeds.feed_for_key(key) is None


def test_classes_are_history_not_edited_by_hand(admin_client, course, make_meeting, lecturer):
    meeting = make_meeting(course)
    cancelled = meetings.cancel_class(meeting=meeting, day=MONDAY, by=lecturer, now=at(MONDAY, 7))
    assert admin_client.get(reverse("admin:timetable_occurrence_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:timetable_occurrence_change", args=[cancelled.pk]), {"reason": "edited"}
    )
    assert response.status_code == 403
    cancelled.refresh_from_db()
    assert cancelled.reason == ""
