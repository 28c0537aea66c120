from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from attendance.models import Course, Device, Enrollment, Student


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    users = get_user_model().objects.order_by("username")
    return {
        "users": list(users.values_list("username", "password", "is_staff", "is_superuser")),
        "courses": list(Course.objects.values_list("code", "title")),
        "lecturers": sorted(Course.lecturers.through.objects.values_list("course_id", "user_id")),
        "students": list(Student.objects.values_list("student_number", "first_name", "user_id")),
        "enrollments": sorted(Enrollment.objects.values_list("course_id", "student_id")),
        "devices": sorted(Device.objects.values_list("student_id", "token_hash", "is_active")),
    }


@pytest.mark.django_db
def test_running_it_twice_changes_nothing():
    seed()
    first = snapshot()
    seed()
    assert snapshot() == first


@pytest.mark.django_db
def test_it_prints_the_demo_logins_with_their_passwords():
    out = seed()
    for login in (
        "admin / admin",
        "lecturer / lecturer",
        "lecturer2 / lecturer2",
        "student / student",
    ):
        assert login in out


@pytest.mark.django_db
def test_the_logins_work_and_have_the_right_powers(client):
    seed()
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert client.login(username="lecturer", password="lecturer")
    lecturer = User.objects.get(username="lecturer")
    assert not lecturer.is_staff
    assert set(lecturer.courses_taught.values_list("code", flat=True)) == {
        "MATH101",
        "PHYS110",
        "HIST210",
    }
    assert not User.objects.get(username="lecturer2").courses_taught.filter(
        code__in=["MATH101", "PHYS110", "HIST210"]
    )
    assert Student.objects.get(user__username="student").student_number == "S0001"


@pytest.mark.django_db
def test_the_first_course_has_every_student_and_each_student_one_device():
    seed()
    assert Student.objects.count() == 40
    assert Enrollment.objects.filter(course__code="MATH101").count() == 40
    assert 0 < Enrollment.objects.filter(course__code="PHYS110").count() < 40
    assert 0 < Enrollment.objects.filter(course__code="HIST210").count() < 40
    assert Device.objects.filter(is_active=True).count() == 40
    assert Student.objects.filter(devices__isnull=True).count() == 0


@pytest.mark.django_db
def test_it_hands_over_to_the_fees_demo_with_its_output(monkeypatch):
    from payments import demo

    def fake_seed_fees(*, stdout):
        stdout.write("Demo fees: term and payments.")

    monkeypatch.setattr(demo, "seed_fees", fake_seed_fees)
    assert seed().count("Demo fees: term and payments.") == 1


@pytest.mark.django_db
def test_the_demo_lecturers_are_in_the_lecturers_group_and_the_office_in_office():
    seed()
    User = get_user_model()
    assert set(
        User.objects.filter(groups__name="Lecturers").values_list("username", flat=True)
    ) == {
        "lecturer",
        "lecturer2",
    }
    assert User.objects.filter(groups__name="Office", username="office").exists()


@pytest.mark.django_db
def test_it_gives_every_demo_course_a_weekly_timetable_once():
    from timetable.models import Closure, Meeting

    out = seed()
    assert "Timetable: 8 weekly meeting(s) made" in out
    assert set(Meeting.objects.values_list("course__code", flat=True)) == {
        "MATH101",
        "PHYS110",
        "HIST210",
        "ECON120",
    }
    assert "Timetable: 0 weekly meeting(s) made" in seed()
    assert Meeting.objects.count() == 8 and Closure.objects.count() == 1
