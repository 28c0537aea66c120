"""Admin deletes racing the registers and sessions that protect what they delete (PostgreSQL)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.deletion import Collector
from django.test import Client
from django.urls import reverse

from attendance.models import AttendanceRecord, Course, Enrollment, NetworkSession, Student
from attendance.sessions import end_session, start_session
from conftest import in_thread, wait_until_blocked_on_a_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


def delete_url(obj) -> str:
    return reverse(f"admin:attendance_{obj._meta.model_name}_delete", args=[obj.pk])


def test_a_student_deleted_while_their_register_is_written_is_kept_with_a_message(
    admin_client, course, students
):
    ada = students[0]
    session, _ = start_session(course=course, by=None)
    with transaction.atomic():
        # The register is written, not yet committed, when the admin confirms the delete.
        end_session(session=session)
        thread, outcome = in_thread(lambda: admin_client.post(delete_url(ada), {"post": "yes"}))
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    response = outcome["result"]
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "was not deleted: attendance records now refer to it" in page
    # The page asks again, and now says what protects her.
    assert "Cannot delete student" in page
    assert Student.objects.filter(pk=ada.pk).exists()
    assert AttendanceRecord.objects.filter(session=session).count() == len(students)


def test_a_register_written_while_a_student_is_deleted_leaves_them_out(
    admin_client, course, students
):
    ada = students[0]
    session, _ = start_session(course=course, by=None)
    with transaction.atomic():
        # The admin's delete is done, not yet committed, when the lecturer ends the class.
        response = admin_client.post(delete_url(ada), {"post": "yes"})
        assert response.status_code == 302
        assert not Student.objects.filter(pk=ada.pk).exists(), "the delete was refused"
        thread, outcome = in_thread(lambda: end_session(session=session))
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    assert outcome["result"].records == len(students) - 1
    assert not Student.objects.filter(pk=ada.pk).exists()
    session.refresh_from_db()
    assert not session.is_active


def test_a_session_started_between_a_course_delete_and_its_commit_is_a_message(
    admin_client, course, monkeypatch
):
    delete = Collector.delete

    def delete_as_a_start_lands(self):
        deleted = delete(self)
        # A lecturer's start, committed after admin looked for the course's sessions:
        # the database refuses the delete when it checks the foreign keys.
        start_session(course=course, by=None)
        return deleted

    monkeypatch.setattr(Collector, "delete", delete_as_a_start_lands)
    response = admin_client.post(delete_url(course), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "was not deleted: other rows now refer to it" in response.content.decode()
    assert Course.objects.filter(pk=course.pk).exists()
    assert not NetworkSession.objects.exists()


def test_two_admins_enrolling_the_same_pair_at_once_the_second_gets_a_message(
    admin_client, course, students, other_course
):
    student = students[0]
    form = {
        "student_number": student.student_number,
        "first_name": "Renamed",  # rolled back with the refused enrollment
        "last_name": student.last_name,
        "email": "",
        "is_active": "on",
        "enrollments-TOTAL_FORMS": "1",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-0-student": student.pk,
        "enrollments-0-course": other_course.pk,
        "devices-TOTAL_FORMS": "0",
        "devices-INITIAL_FORMS": "0",
    }
    change = reverse("admin:attendance_student_change", args=[student.pk])
    with transaction.atomic():
        # Another admin's enrollment of the same pair, not yet committed when this save
        # checks its rows: the save's insert waits for it, then the database refuses.
        Enrollment.objects.create(course=other_course, student=student)
        thread, outcome = in_thread(lambda: admin_client.post(change, form))
        wait_until_blocked_on_a_lock(thread, outcome)
    thread.join(timeout=30)
    assert "error" not in outcome, outcome
    response = outcome["result"]
    assert response.status_code == 302
    assert response["Location"] == change
    page = admin_client.get(change).content.decode()
    assert "Nothing was saved: a change saved by someone else at the same moment" in page
    assert Enrollment.objects.filter(course=other_course, student=student).count() == 1
    student.refresh_from_db()
    assert student.first_name != "Renamed"
