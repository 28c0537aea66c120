"""The lecturer's class day: who has checked in, "End session?", the projector view,
marking several students at once, the course's late threshold."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from attendance import selectors
from attendance.models import AttendanceChange, AttendanceRecord, Course, NetworkSession
from attendance.registers import InvalidMark, mark_many
from attendance.roster import roster_event
from attendance.selectors import absent_if_ended_now, session_rosters
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


@pytest.fixture
def running(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    join(session, students[0], session.started_at + timedelta(minutes=1))
    join(session, students[1], session.started_at + timedelta(minutes=12))
    return session


# --- who has checked in ----------------------------------------------------


def test_the_roster_names_who_checked_in_with_lateness_and_who_has_not(running, students):
    roster = session_rosters([NetworkSession.objects.select_related("course").get()])[running.pk]
    assert roster["checked_in"] == [
        {"student": students[0].student_number, "name": students[0].full_name, "late": False},
        {"student": students[1].student_number, "name": students[1].full_name, "late": True},
    ]
    assert [row["name"] for row in roster["waiting"]] == [s.full_name for s in students[2:]]


def test_the_course_threshold_decides_who_is_late(running, course):
    course.late_after_minutes = 15
    course.save()
    roster = session_rosters([NetworkSession.objects.select_related("course").get()])[running.pk]
    assert [row["late"] for row in roster["checked_in"]] == [False, False]


def test_the_roster_event_is_for_the_course_and_carries_a_version(running, course):
    first, second = roster_event(session_id=running.pk), roster_event(session_id=running.pk)
    assert (first["type"], first["course"], first["session"]) == (
        "session.roster",
        course.pk,
        running.pk,
    )
    assert second["version"] > first["version"]
    assert len(first["checked_in"]) == 2 and len(first["waiting"]) == 3


@pytest.mark.parametrize("class_size", [5, 60])
def test_the_roster_costs_one_query_whatever_the_class(
    course, make_students, class_size, django_assert_num_queries
):
    make_students(class_size, course=course)
    session, _ = start_session(course=course, by=None)
    session = NetworkSession.objects.select_related("course").get(pk=session.pk)
    with django_assert_num_queries(1):
        roster = session_rosters([session])[session.pk]
    assert len(roster["waiting"]) == roster["waiting_total"] == class_size


def test_the_roster_of_several_sessions_costs_one_query(
    course, lecturer, make_students, django_assert_num_queries
):
    other = Course.objects.create(code="PHYS101", title="Physics")
    ours, theirs = make_students(3, course=course), make_students(2, course=other, prefix="P")
    first, _ = start_session(course=course, by=lecturer)
    second, _ = start_session(course=other, by=lecturer)
    join(second, theirs[1], second.started_at)
    sessions = list(NetworkSession.objects.select_related("course").order_by("pk"))
    with django_assert_num_queries(1):
        rosters = session_rosters(sessions)
    assert [r["student"] for r in rosters[first.pk]["waiting"]] == [s.student_number for s in ours]
    assert rosters[first.pk]["checked_in"] == []
    assert [r["student"] for r in rosters[second.pk]["checked_in"]] == [theirs[1].student_number]
    assert [r["student"] for r in rosters[second.pk]["waiting"]] == [theirs[0].student_number]


def test_a_big_class_lists_the_first_names_and_counts_them_all(course, make_students, monkeypatch):
    """A lecture hall's roll is not sent twice a second: each list stops at
    ROSTER_NAMES names, in name order, and says how many there are."""
    monkeypatch.setattr(selectors, "ROSTER_NAMES", 4)
    students = make_students(10, course=course)
    session, _ = start_session(course=course, by=None)
    for student in students[3:9]:  # six check in, four wait
        join(session, student, session.started_at + timedelta(minutes=1))
    session = NetworkSession.objects.select_related("course").get(pk=session.pk)
    roster = session_rosters([session])[session.pk]
    assert [r["student"] for r in roster["checked_in"]] == [s.student_number for s in students[3:7]]
    assert roster["checked_in_total"] == 6
    assert [r["student"] for r in roster["waiting"]] == [
        s.student_number for s in [*students[:3], students[9]]
    ]
    assert roster["waiting_total"] == 4
    html = render_to_string(
        "attendance/_session_roster.html", {"session_id": session.pk, "roster": roster}
    )
    assert 'data-roster="checked_in">6<' in html and 'data-roster="waiting">4<' in html
    assert "The first 4 of 6 by name" in html
    assert html.count("roster-more") == 1  # the waiting list is whole


def test_an_inactive_student_is_on_neither_list(running, students):
    students[1].is_active = False
    students[1].save()
    students[3].is_active = False
    students[3].save()
    roster = session_rosters([NetworkSession.objects.select_related("course").get()])[running.pk]
    assert [r["student"] for r in roster["checked_in"]] == [students[0].student_number]
    assert [r["student"] for r in roster["waiting"]] == [
        students[2].student_number,
        students[4].student_number,
    ]
    assert (roster["checked_in_total"], roster["waiting_total"]) == (1, 2)


def test_the_card_lists_the_names(lecturer_client, running, students):
    html = lecturer_client.get(reverse("dashboard")).content.decode()
    assert f'id="roster-{running.pk}"' in html
    assert students[4].full_name in html and 'data-roster="checked_in">2<' in html


# --- End session? ----------------------------------------------------


def test_ending_asks_first_with_how_many_will_be_marked_absent(lecturer_client, running):
    html = lecturer_client.get(reverse("session-end", args=[running.pk]), **HTMX).content.decode()
    assert "End MATH101's session?" in html
    assert "3 of 5 enrolled students have not checked in and will be marked absent." in html
    assert "<html" not in html
    running.refresh_from_db()
    assert running.is_active


def test_a_student_marked_by_hand_is_not_counted_absent(running, students):
    AttendanceRecord.objects.create(
        session=running,
        student=students[4],
        status="excused",
        source="manual",
        created_at=running.started_at,
        updated_at=running.started_at,
    )
    assert absent_if_ended_now(running) == 2


def test_without_javascript_the_question_is_a_page_and_the_answer_a_post(lecturer_client, running):
    page = lecturer_client.get(reverse("session-end", args=[running.pk])).content.decode()
    assert "<h1>End the session?</h1>" in page
    assert f'<form method="post" action="{reverse("session-end", args=[running.pk])}"' in page
    response = lecturer_client.post(reverse("session-end", args=[running.pk]))
    assert response.status_code == 302
    running.refresh_from_db()
    assert not running.is_active


def test_confirming_by_htmx_returns_the_card_and_closes_the_question(lecturer_client, running):
    html = lecturer_client.post(reverse("session-end", args=[running.pk]), **HTMX).content.decode()
    assert "Start session" in html
    assert '<div id="dialog" aria-live="polite" hx-swap-oob="true"></div>' in html


def test_keep_it_running_closes_the_question(lecturer_client, running):
    response = lecturer_client.get(reverse("session-end", args=[running.pk]), {"keep": "1"}, **HTMX)
    assert response.content == b""


def test_asking_about_an_ended_session_says_so(lecturer_client, running):
    end_session(session=running)
    html = lecturer_client.get(reverse("session-end", args=[running.pk]), **HTMX).content.decode()
    assert "has already ended" in html


def test_another_lecturer_gets_no_question(client, other_lecturer, running):
    client.force_login(other_lecturer)
    assert client.get(reverse("session-end", args=[running.pk])).status_code == 404


# --- the projector view ----------------------------------------------------


def test_the_projector_shows_the_code_qr_countdown_and_counts(lecturer_client, running, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 30
    html = lecturer_client.get(reverse("session-projector", args=[running.pk])).content.decode()
    assert f'<p class="big-code" data-code>{running.join_code}</p>' in html
    assert "viewBox=" in html  # the QR scales to the screen
    assert "data-countdown" in html and "New code in" in html
    assert "<strong>2</strong> of 5 checked in" in html
    assert '<meta http-equiv="refresh"' in html  # inside <noscript>
    assert 'src="/static/js/projector.js"' in html
    # htmx without eval or script tags, as on every page built on base.html.
    assert '"allowEval": false, "allowScriptTags": false' in html
    fragment = lecturer_client.get(
        reverse("session-projector", args=[running.pk]), **HTMX
    ).content.decode()
    assert fragment.startswith('<div id="projector"') and "<html" not in fragment


def test_the_projector_of_a_fixed_code_has_no_countdown(lecturer_client, running, settings):
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 0
    html = lecturer_client.get(reverse("session-projector", args=[running.pk])).content.decode()
    assert "The code stays the same for this class." in html and "data-countdown" not in html


def test_the_projector_of_an_ended_session_says_so(lecturer_client, running):
    end_session(session=running)
    html = lecturer_client.get(reverse("session-projector", args=[running.pk])).content.decode()
    assert "This session has ended." in html and running.join_code not in html


def test_another_lecturer_cannot_project_my_code(client, other_lecturer, running):
    client.force_login(other_lecturer)
    assert client.get(reverse("session-projector", args=[running.pk])).status_code == 404


# --- marking several at once ----------------------------------------------------


@pytest.fixture
def ended(running):
    end_session(session=running)
    return running


def test_several_students_are_marked_with_one_reason_each_in_the_audit_trail(
    lecturer_client, ended, students, lecturer
):
    response = lecturer_client.post(
        reverse("records-mark", args=[ended.pk]),
        {
            "student": [students[2].pk, students[3].pk, students[0].pk],
            "status": "excused",
            "reason": "School trip",
        },
        follow=True,
    )
    assert "3 students marked excused." in response.content.decode()
    statuses = dict(
        AttendanceRecord.objects.filter(session=ended).values_list("student_id", "status")
    )
    assert [statuses[s.pk] for s in students] == ["excused", "late", "excused", "excused", "absent"]
    changes = AttendanceChange.objects.order_by("record__student_id")
    assert [(c.from_status, c.to_status, c.reason, c.changed_by) for c in changes] == [
        ("present", "excused", "School trip", lecturer),
        ("absent", "excused", "School trip", lecturer),
        ("absent", "excused", "School trip", lecturer),
    ]


def test_those_already_at_the_status_are_left_alone(ended, students, lecturer):
    changed = mark_many(
        session=ended,
        student_ids=[students[0].pk, students[2].pk],
        status="present",
        by=lecturer,
        reason="Seen in class",
    )
    assert [r.student_id for r in changed] == [students[2].pk]
    assert AttendanceChange.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"student_ids": []}, "Choose at least one student"),
        ({"reason": "  "}, "Give a reason"),
        ({"status": "asleep"}, "Unknown status"),
        ({"student_ids": "unknown"}, "1 of the chosen students is not in this register"),
    ],
)
def test_bad_marks_change_nothing(ended, students, lecturer, kwargs, message, make_students):
    arguments = {
        "student_ids": [students[2].pk],
        "status": "excused",
        "reason": "Trip",
        **kwargs,
    }
    if arguments["student_ids"] == "unknown":
        outsider = make_students(1, prefix="X")[0]
        arguments["student_ids"] = [students[2].pk, outsider.pk]
    with pytest.raises(InvalidMark, match=message):
        mark_many(session=ended, by=lecturer, **arguments)
    assert not AttendanceChange.objects.exists()
    assert AttendanceRecord.objects.get(session=ended, student=students[2]).status == "absent"


def test_a_running_session_has_no_register_to_mark_yet(running, students, lecturer):
    with pytest.raises(InvalidMark, match="written when the session ends"):
        mark_many(
            session=running, student_ids=[students[2].pk], status="present", by=lecturer, reason="x"
        )


def test_a_bad_mark_from_the_page_says_why(lecturer_client, ended, students):
    response = lecturer_client.post(
        reverse("records-mark", args=[ended.pk]),
        {"student": ["abc"], "status": "present", "reason": "x"},
        follow=True,
    )
    assert "Choose at least one student." in response.content.decode()


def test_another_lecturer_cannot_mark_my_register(client, other_lecturer, ended, students):
    client.force_login(other_lecturer)
    response = client.post(
        reverse("records-mark", args=[ended.pk]),
        {"student": [students[2].pk], "status": "present", "reason": "x"},
    )
    assert response.status_code == 404
    assert not AttendanceChange.objects.exists()


@pytest.mark.parametrize("class_size", [5, 80])
def test_marking_many_costs_the_same_whatever_their_number(
    course, make_students, lecturer, class_size, django_assert_num_queries
):
    chosen = make_students(class_size, course=course)
    session, _ = start_session(course=course, by=None)
    end_session(session=session)
    # Lock and read the records, write the audit rows, update the records (and a savepoint);
    # then the register hook (settings.ATTENDANCE_REGISTER_HOOKS): the reports' standings,
    # five queries when no one falls below.
    with django_assert_num_queries(5 + 5):
        changed = mark_many(
            session=session,
            student_ids=[s.pk for s in chosen],
            status="excused",
            by=lecturer,
            reason="Trip",
        )
    assert len(changed) == class_size


def test_the_register_page_has_the_tick_boxes_and_one_form(lecturer_client, ended):
    html = lecturer_client.get(reverse("session-detail", args=[ended.pk])).content.decode()
    assert html.count('form="bulk-mark"') == 5
    assert 'id="bulk-mark"' in html and 'data-select="absent"' in html


# --- the per-course late threshold ------------------------------------


def test_the_courses_threshold_decides_lateness_in_the_register(course, students):
    Course.objects.filter(pk=course.pk).update(late_after_minutes=20)
    course.refresh_from_db()
    session, _ = start_session(course=course, by=None)
    join(session, students[0], session.started_at + timedelta(minutes=15))
    join(session, students[1], session.started_at + timedelta(minutes=21))
    end_session(session=session)
    statuses = dict(
        AttendanceRecord.objects.filter(session=session).values_list("student_id", "status")
    )
    assert (statuses[students[0].pk], statuses[students[1].pk]) == ("present", "late")


def test_an_out_of_range_threshold_is_refused(course):
    from attendance.courses import InvalidCourseSetting, set_late_threshold

    with pytest.raises(InvalidCourseSetting, match="0 to 240 minutes"):
        set_late_threshold(course=course, minutes=241)
    course.refresh_from_db()
    assert course.late_after_minutes is None
