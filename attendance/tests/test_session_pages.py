import pytest
from django.urls import reverse

from attendance.models import AttendanceChange, AttendanceRecord, NetworkSession
from attendance.registers import mark_attendance
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecturer_client(client, lecturer):
    client.force_login(lecturer)
    return client


@pytest.fixture
def ended(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    join(session, students[0], session.started_at)
    end_session(session=session)
    return session


def record_of(session, student) -> AttendanceRecord:
    return AttendanceRecord.objects.get(session=session, student=student)


# --- /sessions/ -----------------------------------------------------------------------------


def test_the_list_shows_the_users_sessions_newest_first(lecturer_client, ended, course, lecturer):
    newer, _ = start_session(course=course, by=lecturer)
    html = lecturer_client.get(reverse("session-list")).content.decode()
    assert html.index(reverse("session-detail", args=[newer.pk])) < html.index(
        reverse("session-detail", args=[ended.pk])
    )
    assert "Running" in html


def test_the_list_leaves_out_other_lecturers_sessions(lecturer_client, other_course):
    theirs, _ = start_session(course=other_course, by=None)
    html = lecturer_client.get(reverse("session-list")).content.decode()
    assert reverse("session-detail", args=[theirs.pk]) not in html
    assert "No sessions yet" in html


def test_the_list_is_paginated(lecturer_client, course):
    for _ in range(30):
        session, _ = start_session(course=course, by=None)
        end_session(session=session)
    first = lecturer_client.get(reverse("session-list"))
    assert len(first.context["page"].object_list) == 25
    second = lecturer_client.get(reverse("session-list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert lecturer_client.get(reverse("session-list"), {"page": "x"}).status_code == 200


def test_the_lists_query_count_does_not_grow_with_sessions(
    lecturer_client, course, django_assert_max_num_queries
):
    for _ in range(20):
        session, _ = start_session(course=course, by=None)
        end_session(session=session)
    with django_assert_max_num_queries(6):
        assert lecturer_client.get(reverse("session-list")).status_code == 200


# --- /sessions/<id>/ -------------------------------------------------------------------------


def test_the_register_lists_every_record(lecturer_client, ended, students):
    response = lecturer_client.get(reverse("session-detail", args=[ended.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for student in students:
        assert student.student_number in html
    assert html.count("status-absent") == 4 and html.count("status-present") == 1
    assert 'class="table-wrap"' in html


def test_another_lecturer_gets_not_found(client, other_lecturer, ended):
    client.force_login(other_lecturer)
    assert client.get(reverse("session-detail", args=[ended.pk])).status_code == 404


def test_an_unknown_session_is_not_found(lecturer_client):
    assert lecturer_client.get(reverse("session-detail", args=[999])).status_code == 404


def test_the_lecturer_changes_a_status_with_a_reason(lecturer_client, ended, students, lecturer):
    record = record_of(ended, students[1])
    response = lecturer_client.post(
        reverse("record-mark", args=[ended.pk, record.pk]),
        {"status": "excused", "reason": "Hospital appointment"},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "is now excused" in html and "Hospital appointment" in html
    record.refresh_from_db()
    assert (record.status, record.source) == ("excused", "manual")
    change = AttendanceChange.objects.get(record=record)
    assert change.changed_by == lecturer and change.from_status == "absent"


def test_staff_may_change_any_register(client, staff_user, ended, students):
    client.force_login(staff_user)
    record = record_of(ended, students[1])
    client.post(
        reverse("record-mark", args=[ended.pk, record.pk]), {"status": "late", "reason": "Seen"}
    )
    record.refresh_from_db()
    assert record.status == "late"


def test_another_lecturer_cannot_change_the_register(client, other_lecturer, ended, students):
    client.force_login(other_lecturer)
    record = record_of(ended, students[1])
    response = client.post(
        reverse("record-mark", args=[ended.pk, record.pk]), {"status": "present", "reason": "x"}
    )
    assert response.status_code == 404
    record.refresh_from_db()
    assert record.status == "absent"
    assert not AttendanceChange.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "present", "reason": ""}, "Give a reason"),
        ({"status": "asleep", "reason": "x"}, "Unknown status"),
        ({}, "Unknown status"),
        ({"status": "late", "reason": "bus\x00"}, "cannot contain a null character"),
    ],
)
def test_a_bad_change_is_refused_with_a_message(lecturer_client, ended, students, data, message):
    record = record_of(ended, students[1])
    response = lecturer_client.post(
        reverse("record-mark", args=[ended.pk, record.pk]), data, follow=True
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    record.refresh_from_db()
    assert record.status == "absent"
    assert not AttendanceChange.objects.exists()


def test_a_record_of_another_session_is_not_found(lecturer_client, ended, course, students):
    other, _ = start_session(course=course, by=None)
    end_session(session=other)
    record = record_of(other, students[0])
    response = lecturer_client.post(
        reverse("record-mark", args=[ended.pk, record.pk]), {"status": "late", "reason": "x"}
    )
    assert response.status_code == 404


def test_marking_by_get_is_refused(lecturer_client, ended, students):
    record = record_of(ended, students[0])
    assert (
        lecturer_client.get(reverse("record-mark", args=[ended.pk, record.pk])).status_code == 405
    )


def test_the_nav_links_the_session_list(lecturer_client):
    assert reverse("session-list") in lecturer_client.get(reverse("dashboard")).content.decode()


def test_a_running_session_says_its_register_comes_at_the_end(lecturer_client, course):
    session, _ = start_session(course=course, by=None)
    html = lecturer_client.get(reverse("session-detail", args=[session.pk])).content.decode()
    assert "written when the session ends" in html
    assert NetworkSession.objects.get().is_active


@pytest.mark.parametrize("class_size", [3, 40])
def test_the_registers_query_count_does_not_grow_with_the_class(
    lecturer_client,
    course,
    make_students,
    lecturer,
    class_size,
    settings,
    django_assert_num_queries,
):
    make_students(class_size, course=course)
    session, _ = start_session(course=course, by=lecturer)
    end_session(session=session)
    for record in AttendanceRecord.objects.filter(session=session)[:2]:
        mark_attendance(record=record, status="excused", by=lecturer, reason="note")
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    with django_assert_num_queries(6 + session_queries):
        response = lecturer_client.get(reverse("session-detail", args=[session.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('<tr id="record-') == class_size
