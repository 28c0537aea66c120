"""Admin: the lecturer picker, the import upload → preview → confirm, export, roles."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.roles import LECTURERS_GROUP, OFFICE_GROUP, lecturers_group
from accounts.tests.files import csv_bytes, xlsx_bytes
from attendance.models import Student
from outbox.models import OutboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    return client


def test_the_course_lecturer_picker_offers_lecturers_only(
    admin_client, course, lecturer, make_user, students
):
    lecturers_group().user_set.add(make_user("grace"))
    make_user("office")
    students[0].user = make_user("S00000")
    students[0].save()
    # `lecturer` teaches the course but is not in the group: kept, so saving drops nobody.
    html = admin_client.get(
        reverse("admin:attendance_course_change", args=[course.pk])
    ).content.decode()
    picker = html.split('name="lecturers"', 1)[1].split("</select>", 1)[0]
    assert ">grace<" in picker and ">lecturer<" in picker
    assert ">office<" not in picker and ">S00000<" not in picker and ">admin<" not in picker
    add = admin_client.get(reverse("admin:attendance_course_add")).content.decode()
    add_picker = add.split('name="lecturers"', 1)[1].split("</select>", 1)[0]
    assert ">grace<" in add_picker and ">lecturer<" not in add_picker


def test_an_upload_is_previewed_then_imported_on_confirmation(admin_client):
    data = xlsx_bytes(
        ["student_number", "first_name", "last_name", "email"],
        ["S1", "Ada", "Lovelace", "ada@example.com"],
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("students.xlsx", data)
    response = admin_client.post(
        reverse("admin:accounts_importrun_upload"), {"kind": "students", "file": upload}
    )
    assert response.status_code == 302
    preview = admin_client.get(response.url)
    html = preview.content.decode()
    assert "<strong>1</strong> new" in html and "Confirm: import 1 new" in html
    assert not Student.objects.exists()
    done = admin_client.post(response.url)
    assert done.status_code == 302
    assert Student.objects.get(student_number="S1").user.username == "S1"
    assert OutboundEmail.objects.count() == 1
    # Confirming twice imports once.
    admin_client.post(response.url)
    assert Student.objects.count() == 1


def test_a_preview_with_bad_rows_lists_them_and_offers_no_confirmation(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = csv_bytes("student_number,first_name,last_name,email", "S1,Ada,,bad@")
    response = admin_client.post(
        reverse("admin:accounts_importrun_upload"),
        {"kind": "students", "file": SimpleUploadedFile("s.csv", data)},
    )
    html = admin_client.get(response.url).content.decode()
    assert "This value is required." in html and "is not a valid email address" in html
    assert "Confirm" not in html
    assert admin_client.post(response.url).status_code == 200
    assert not Student.objects.exists()


def test_export_downloads_each_kind_in_each_format(admin_client, students):
    for fmt in ("csv", "xlsx"):
        response = admin_client.get(
            reverse("admin:accounts_importrun_export") + f"?kind=students&format={fmt}"
        )
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith(f'.{fmt}"')
    text = admin_client.get(
        reverse("admin:accounts_importrun_export") + "?kind=students&format=csv"
    ).content.decode("utf-8-sig")
    assert "S00004,First4,Last4," in text


def test_imports_need_the_import_permission(make_user):
    clerk = make_user("clerk", staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(reverse("admin:accounts_importrun_upload")).status_code == 403
    clerk.groups.add(Group.objects.get(name=OFFICE_GROUP))
    assert client.get(reverse("admin:accounts_importrun_upload")).status_code == 200


def test_the_migration_made_both_roles_with_their_permissions():
    office = Group.objects.get(name=OFFICE_GROUP)
    perms = set(office.permissions.values_list("codename", flat=True))
    assert {"view_payment", "add_payment", "change_student", "import_school"} <= perms
    lecturers = Group.objects.get(name=LECTURERS_GROUP)
    assert "change_attendancerecord" in set(
        lecturers.permissions.values_list("codename", flat=True)
    )
    assert not Group.objects.filter(name="Fees office").exists()


def test_the_migration_renames_an_existing_fees_office_and_keeps_its_people(
    make_user, course, lecturer
):
    migration = importlib.import_module("accounts.migrations.0002_roles_lecturers_and_office")
    Group.objects.filter(name__in=[OFFICE_GROUP, LECTURERS_GROUP]).delete()
    old = Group.objects.create(name="Fees office")
    clerk = make_user("clerk")
    clerk.groups.add(old)
    migration.create_roles(apps, None)
    office = Group.objects.get(name=OFFICE_GROUP)
    assert office.pk == old.pk and list(office.user_set.all()) == [clerk]
    # Whoever taught a course became a lecturer.
    assert lecturer.groups.filter(name=LECTURERS_GROUP).exists()
    assert not Group.objects.filter(name="Fees office").exists()


def test_a_new_threshold_in_admin_moves_students_on_or_off_the_at_risk_list_at_once(
    admin_client, course, students
):
    from outbox.models import OutboundEmail
    from reports.models import AttendanceWarning, Standing
    from reports.tests.builders import write_register
    from timetable.tests.test_admin import course_form

    # Three of five sessions attended: 60 %, above a 50 % threshold.
    course.warn_below_percent = 50
    course.save()
    for status in ("present", "present", "present", "absent", "absent"):
        write_register(course, {students[0]: status})
    assert not Standing.objects.get(student=students[0], course=course).below
    form = course_form(course, [])
    form.pop("warn_below_percent")
    response = admin_client.post(
        reverse("admin:attendance_course_change", args=[course.pk]),
        {**form, "warn_below_percent": "75"},
        follow=True,
    )
    assert response.status_code == 200
    assert "follows the new threshold" in response.content.decode()
    assert Standing.objects.get(student=students[0], course=course).below
    # Moving the line mails no one.
    assert not AttendanceWarning.objects.exists() and not OutboundEmail.objects.exists()


def _page_initials(html: str) -> dict[str, list[str]]:
    """The hidden `initial-*` inputs of a change page: what each field showed."""
    import re

    initials: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input[^>]*name="(initial-[\w-]+)"[^>]*value="([^"]*)"', html):
        initials.setdefault(name, []).append(value)
    return initials


def test_a_course_form_saved_after_another_admins_change_keeps_what_it_left_alone(
    admin_client, course, make_user
):
    from attendance.models import Course
    from timetable.tests.test_admin import course_form

    second = make_user("second-lecturer")
    lecturers_group().user_set.add(second)
    url = reverse("admin:attendance_course_change", args=[course.pk])
    # Alice opens the course page; meanwhile Bob raises the threshold and adds a lecturer.
    page = admin_client.get(url).content.decode()
    initials = _page_initials(page)
    assert initials["initial-warn_below_percent"] == ["75"]
    assert initials["initial-title"] == [course.title]
    Course.objects.filter(pk=course.pk).update(warn_below_percent=90)
    course.lecturers.add(second)
    # Alice saves her page with a new title, the rest as it showed.
    form = course_form(course, [])
    form["lecturers"] = [u for u in form["lecturers"] if u != second.pk]
    response = admin_client.post(url, {**form, **initials, "title": "Renamed"})
    assert response.status_code == 302
    stored = Course.objects.get(pk=course.pk)
    assert stored.title == "Renamed"
    assert stored.warn_below_percent == 90
    assert second in stored.lecturers.all()


def test_a_course_form_without_the_pages_initials_saves_every_field(admin_client, course):
    """A post that does not say what the page showed (a script) is taken as changing all."""
    from attendance.models import Course
    from timetable.tests.test_admin import course_form

    Course.objects.filter(pk=course.pk).update(warn_below_percent=90)
    response = admin_client.post(
        reverse("admin:attendance_course_change", args=[course.pk]),
        {**course_form(course, []), "title": "Renamed"},
    )
    assert response.status_code == 302
    stored = Course.objects.get(pk=course.pk)
    assert (stored.title, stored.warn_below_percent) == ("Renamed", 75)
