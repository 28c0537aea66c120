import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from attendance.devices import authenticate_device, register_device
from attendance.models import (
    ApiToken,
    AttendanceChange,
    AttendanceRecord,
    ConnectedDevice,
    Course,
    Device,
    Enrollment,
    NetworkSession,
    Student,
)
from attendance.sessions import end_session, start_session
from attendance.tests.builders import join
from attendance.tokens import authenticate_api_token, hash_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("root", password="pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def school(course, students, lecturer, staff_user):
    """One of every model, so every admin page has a row to show."""
    session, _ = start_session(course=course, by=lecturer)
    join(session, students[0], session.started_at)
    end_session(session=session)
    record = AttendanceRecord.objects.get(session=session, student=students[0])
    AttendanceChange.objects.create(
        record=record,
        changed_by=lecturer,
        changed_at=timezone.now(),
        from_status="present",
        to_status="excused",
        reason="note",
    )
    from attendance.tokens import create_api_token

    create_api_token(user=staff_user, name="reports")
    return session


MODELS = [
    Course,
    Student,
    Enrollment,
    Device,
    NetworkSession,
    ConnectedDevice,
    AttendanceRecord,
    AttendanceChange,
    ApiToken,
]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:attendance_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_and_change_page_loads(admin_client, school, model):
    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "changelist"), {"q": "S0"}).status_code == 200
    obj = model.objects.first()
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [Course, Student, Enrollment, Device, ApiToken])
def test_the_add_page_loads_where_adding_by_hand_makes_sense(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    "model", [NetworkSession, ConnectedDevice, AttendanceRecord, AttendanceChange]
)
def test_service_written_models_cannot_be_added_by_hand(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 403


def test_the_end_sessions_action_ends_them_through_end_session(
    admin_client, course, other_course, students, superuser
):
    running, _ = start_session(course=course, by=None)
    other, _ = start_session(course=other_course, by=None)
    end_session(session=other)
    response = admin_client.post(
        url(NetworkSession, "changelist"),
        {"action": "end_selected", "_selected_action": [running.pk, other.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Ended 1 session(s), wrote 5 attendance record(s); 1 were already ended." in (
        response.content.decode()
    )
    running.refresh_from_db()
    assert not running.is_active and running.end_reason == "ended"
    assert running.ended_by == superuser
    assert AttendanceRecord.objects.filter(session=running).count() == 5


def test_the_session_changelist_query_count_is_flat(
    admin_client, make_students, django_assert_max_num_queries
):
    lecturer = get_user_model().objects.create_user("l")
    for i in range(10):
        c = Course.objects.create(code=f"C{i}", title="t")
        start_session(course=c, by=lecturer)
    with django_assert_max_num_queries(12):
        assert admin_client.get(url(NetworkSession, "changelist")).status_code == 200


def test_the_revoke_action_revokes_through_the_service(admin_client, students):
    device, token = register_device(student=students[0], name="phone")
    response = admin_client.post(
        url(Device, "changelist"),
        {"action": "revoke_selected", "_selected_action": [device.pk]},
        follow=True,
    )
    assert "Revoked 1 device(s)." in response.content.decode()
    device.refresh_from_db()
    assert not device.is_active and device.slot is None
    assert authenticate_device(public_id=str(device.public_id), token=token) is None


def test_adding_a_device_registers_it_and_shows_the_token_once(admin_client, students):
    response = admin_client.post(
        url(Device, "add"), {"student": students[0].pk, "name": "Tablet"}, follow=True
    )
    assert response.status_code == 200
    device = Device.objects.get(student=students[0])
    shown = [str(m) for m in response.context["messages"]]
    token_message = next(m for m in shown if m.startswith("Device token for Tablet: "))
    token = token_message.split(": ", 1)[1].split(" ", 1)[0]
    assert device.token_hash == hash_secret(token) and device.slot == 1
    assert authenticate_device(public_id=str(device.public_id), token=token) == device
    again = admin_client.get(url(Device, "change", device.pk)).content.decode()
    assert token not in again


def test_adding_a_device_over_the_limit_is_refused_with_a_message(admin_client, students):
    register_device(student=students[0], name="one")
    register_device(student=students[0], name="two")
    response = admin_client.post(url(Device, "add"), {"student": students[0].pk, "name": "three"})
    assert response.status_code == 200
    assert "already has 2 active devices" in response.content.decode()
    assert Device.objects.filter(student=students[0]).count() == 2


def test_connected_devices_are_read_only(admin_client, school):
    row = ConnectedDevice.objects.get()
    before = (row.is_connected, row.last_seen_at)
    response = admin_client.post(url(ConnectedDevice, "change", row.pk), {"is_connected": "on"})
    assert response.status_code == 403
    assert (
        admin_client.post(url(ConnectedDevice, "delete", row.pk), {"post": "yes"}).status_code
        == 403
    )
    row.refresh_from_db()
    assert (row.is_connected, row.last_seen_at) == before


def test_the_audit_trail_is_read_only(admin_client, school):
    change = AttendanceChange.objects.get()
    response = admin_client.post(url(AttendanceChange, "change", change.pk), {"reason": "edited"})
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.reason == "note"


def test_changing_a_record_in_admin_writes_the_audit_row(admin_client, school, superuser):
    record = AttendanceRecord.objects.filter(status="absent").first()
    response = admin_client.post(
        url(AttendanceRecord, "change", record.pk),
        {
            "status": "excused",
            "reason": "Sick note",
            # The audit trail's inline, as the admin page sends it.
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.source) == ("excused", "manual")
    change = AttendanceChange.objects.get(record=record)
    assert (change.from_status, change.to_status, change.reason) == (
        "absent",
        "excused",
        "Sick note",
    )
    assert change.changed_by == superuser


def test_a_record_change_without_a_reason_is_refused(admin_client, school):
    record = AttendanceRecord.objects.filter(status="absent").first()
    response = admin_client.post(url(AttendanceRecord, "change", record.pk), {"status": "present"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    record.refresh_from_db()
    assert record.status == "absent"
    assert not AttendanceChange.objects.filter(record=record).exists()


def test_adding_an_api_token_shows_the_key_once_and_stores_its_hash(admin_client, staff_user):
    response = admin_client.post(
        url(ApiToken, "add"), {"user": staff_user.pk, "name": "timetable sync"}, follow=True
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = next(m for m in shown if m.startswith("API key for")).split(": ", 1)[1].split(" ")[0]
    token = ApiToken.objects.get(name="timetable sync")
    assert token.key_hash == hash_secret(key) and key not in token.key_hash
    assert authenticate_api_token(key) == token


def test_an_api_tokens_hash_cannot_be_edited(admin_client, school):
    token = ApiToken.objects.get()
    response = admin_client.post(
        url(ApiToken, "change", token.pk), {"name": "renamed", "key_hash": "0" * 64}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.name == "renamed" and token.key_hash != "0" * 64


def test_the_revoke_tokens_action_revokes_them(admin_client, school):
    token = ApiToken.objects.get()
    admin_client.post(
        url(ApiToken, "changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert not token.is_active and token.revoked_at is not None


def test_each_session_links_to_its_register(admin_client, school):
    html = admin_client.get(url(NetworkSession, "changelist")).content.decode()
    link = f"{url(AttendanceRecord, 'changelist')}?session__id__exact={school.pk}"
    assert link in html
    response = admin_client.get(link)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 5


def test_a_students_page_shows_their_courses_and_devices(admin_client, school, students):
    html = admin_client.get(url(Student, "change", students[0].pk)).content.decode()
    assert "MATH101" in html and "phone" in html


def test_a_student_is_enrolled_from_their_page(admin_client, students, other_course):
    student = students[0]
    data = _student_form(
        student,
        **{
            "enrollments-TOTAL_FORMS": "2",
            "enrollments-INITIAL_FORMS": "1",
            "enrollments-0-id": student.enrollments.get().pk,
            "enrollments-0-student": student.pk,
            "enrollments-0-course": student.enrollments.get().course_id,
            "enrollments-1-student": student.pk,
            "enrollments-1-course": other_course.pk,
        },
    )
    response = admin_client.post(url(Student, "change", student.pk), data)
    assert response.status_code == 302
    assert set(student.enrollments.values_list("course__code", flat=True)) == {
        "MATH101",
        "HIST201",
    }


@pytest.mark.parametrize("initial", ["0", "-1"], ids=["another tab", "a hand-edited count"])
def test_enrolling_a_pair_already_enrolled_is_a_form_error_not_a_500(
    admin_client, students, initial
):
    student = students[0]
    enrollment = student.enrollments.get()
    data = _student_form(
        student,
        **{
            # The existing row sent as new (INITIAL_FORMS counting it out).
            "enrollments-TOTAL_FORMS": "1",
            "enrollments-INITIAL_FORMS": initial,
            "enrollments-0-student": student.pk,
            "enrollments-0-course": enrollment.course_id,
        },
    )
    response = admin_client.post(url(Student, "change", student.pk), data)
    assert response.status_code == 200
    assert "Already enrolled" in response.content.decode()
    assert list(student.enrollments.all()) == [enrollment]


def test_a_course_page_refuses_a_student_already_on_its_list(admin_client, course, students):
    student = students[0]
    data = {
        "code": course.code,
        "title": course.title,
        "enrollments-TOTAL_FORMS": "1",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-0-course": course.pk,
        "enrollments-0-student": student.pk,
    }
    response = admin_client.post(url(Course, "change", course.pk), data)
    assert response.status_code == 200
    assert "Already enrolled" in response.content.decode()
    assert course.enrollments.filter(student=student).count() == 1


@pytest.mark.parametrize(
    ("field", "value"), [("last_name", "Evil\r\nBcc: x@evil"), ("first_name", "A\x1bB")]
)
def test_a_name_with_a_control_character_is_refused(admin_client, students, field, value):
    # As the import refuses it: a line break in a name broke the mail subjects it
    # went into, and none belongs on a register.
    student = students[0]
    response = admin_client.post(
        url(Student, "change", student.pk), _student_form(student, **{field: value})
    )
    assert response.status_code == 200
    assert "Remove the control character" in response.content.decode()
    student.refresh_from_db()
    assert getattr(student, field) != value


def _student_form(student, **changes) -> dict:
    """Admin's change form for `student` as it stands (no inline rows), with `changes`."""
    return {
        "student_number": student.student_number,
        "first_name": student.first_name,
        "last_name": student.last_name,
        "email": "",
        "is_active": "on",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "devices-TOTAL_FORMS": "0",
        "devices-INITIAL_FORMS": "0",
    } | changes


def _written_after_the_check(monkeypatch, model, write) -> None:
    """`write()` runs right after admin checked what protects the objects to delete: a
    register written or a session started between the confirmation and the delete.

    In the request's own transaction, so the refused delete rolls it back too; a
    write that races it from another connection is in test_admin_races.py."""
    from django.contrib import admin

    model_admin = admin.site._registry[model]
    check = model_admin.get_deleted_objects

    def check_then_write(objs, request):
        found = check(objs, request)
        if request.method == "POST":
            write()
        return found

    monkeypatch.setattr(model_admin, "get_deleted_objects", check_then_write)


def _ended_session(course):
    session, _ = start_session(course=course, by=None)
    return end_session(session=session)


def test_a_student_given_records_while_their_delete_is_confirmed_is_kept_with_a_message(
    admin_client, course, students, monkeypatch
):
    from django.contrib.admin.models import LogEntry

    _written_after_the_check(monkeypatch, Student, lambda: _ended_session(course))
    response = admin_client.post(url(Student, "delete", students[0].pk), {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == url(Student, "delete", students[0].pk)
    page = admin_client.get(response["Location"]).content.decode()
    assert "was not deleted: attendance records now refer to it" in page
    assert Student.objects.filter(pk=students[0].pk).exists()
    assert not LogEntry.objects.exists()


def test_deleting_selected_students_given_records_meanwhile_deletes_none_with_a_message(
    admin_client, course, students, monkeypatch
):
    _written_after_the_check(monkeypatch, Student, lambda: _ended_session(course))
    response = admin_client.post(
        url(Student, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [s.pk for s in students[:2]],
            "post": "yes",
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The 2 students were not deleted: attendance records now refer to them" in page
    assert "Successfully deleted" not in page
    assert Student.objects.count() == len(students)


def test_a_course_given_a_session_while_its_delete_is_confirmed_is_kept_with_a_message(
    admin_client, course, monkeypatch
):
    _written_after_the_check(monkeypatch, Course, lambda: start_session(course=course, by=None))
    response = admin_client.post(url(Course, "delete", course.pk), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "was not deleted: network sessions now refer to it" in response.content.decode()
    assert Course.objects.filter(pk=course.pk).exists()


def test_a_student_with_nothing_that_protects_them_is_deleted(admin_client, students):
    response = admin_client.post(
        url(Student, "delete", students[0].pk), {"post": "yes"}, follow=True
    )
    assert "was deleted successfully" in response.content.decode()
    assert not Student.objects.filter(pk=students[0].pk).exists()
