"""/students/<id>/devices/: the office and staff reset a student's phones, with a reason."""

import pytest
from django.urls import reverse

from attendance.devices import authenticate_device, register_device
from attendance.models import Device
from portal.models import DeviceRevocation


def url(student) -> str:
    return reverse("portal:student-devices", args=[student.pk])


@pytest.mark.parametrize("who", ["office_user", "staff_user"])
def test_the_office_and_staff_reset_a_phone_with_a_reason(client, request, ada, who):
    user = request.getfixturevalue(who)
    phone, token = register_device(student=ada, name="Lost phone")
    tablet, tablet_token = register_device(student=ada, name="Tablet")
    client.force_login(user)
    page = client.get(url(ada))
    assert page.status_code == 200 and "Lost phone" in page.content.decode()
    response = client.post(url(ada), {"device": [phone.pk], "reason": "Phone stolen"}, follow=True)
    assert "Reset Lost phone" in response.content.decode()
    assert authenticate_device(public_id=str(phone.public_id), token=token) is None
    assert authenticate_device(public_id=str(tablet.public_id), token=tablet_token) is not None
    audit = DeviceRevocation.objects.get(device=phone)
    assert (audit.kind, audit.reason, audit.revoked_by) == ("reset", "Phone stolen", user)
    assert audit.revoked_at is not None
    # The page shows who did it and why.
    page = client.get(url(ada)).content.decode()
    assert f"reset by {user.username} (Phone stolen)" in page
    assert "by the office by" not in page


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301, "lost\x00"])
def test_a_reset_without_a_fitting_reason_changes_nothing(client, office_user, ada, reason):
    phone, _ = register_device(student=ada, name="Phone")
    client.force_login(office_user)
    response = client.post(url(ada), {"device": [phone.pk], "reason": reason})
    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    phone.refresh_from_db()
    assert phone.is_active and not DeviceRevocation.objects.exists()


def test_a_reset_without_a_chosen_device_changes_nothing(client, office_user, ada):
    register_device(student=ada, name="Phone")
    client.force_login(office_user)
    for data in ({"reason": "lost"}, {"device": ["x"], "reason": "lost"}):
        assert client.post(url(ada), data).status_code == 400
    assert Device.objects.filter(is_active=True).count() == 1


def test_another_students_device_is_not_reset_through_this_student(
    client, office_user, ada, students
):
    theirs, _ = register_device(student=students[0], name="Theirs")
    client.force_login(office_user)
    response = client.post(url(ada), {"device": [theirs.pk], "reason": "lost"}, follow=True)
    assert "already reset" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.is_active


@pytest.mark.parametrize("who", ["lecturer", "pupil"])
def test_lecturers_and_students_are_refused(client, request, ada, who):
    phone, _ = register_device(student=ada, name="Phone")
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(ada)).status_code == 403
    assert client.post(url(ada), {"device": [phone.pk], "reason": "x"}).status_code == 403
    phone.refresh_from_db()
    assert phone.is_active


def test_an_unknown_student_is_404_for_the_office(client, office_user, db):
    client.force_login(office_user)
    assert client.get(reverse("portal:student-devices", args=[999999])).status_code == 404


def test_a_student_without_devices_gets_an_empty_state(client, office_user, ada):
    client.force_login(office_user)
    assert "has no registered device" in client.get(url(ada)).content.decode()


def test_the_list_costs_the_same_queries_for_one_or_many_devices(
    client, office_user, ada, settings, django_assert_num_queries
):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 10
    client.force_login(office_user)
    register_device(student=ada, name="one")
    session_queries = 1 if settings.SESSION_ENGINE.endswith(".db") else 0
    # user, the office check, the student, the devices with their audit rows.
    with django_assert_num_queries(4 + session_queries):
        client.get(url(ada))
    for i in range(6):
        device, _ = register_device(student=ada, name=f"d{i}")
        client.post(url(ada), {"device": [device.pk], "reason": "lost"})
    with django_assert_num_queries(4 + session_queries):
        response = client.get(url(ada))
    assert response.content.decode().count("lost") >= 6


def test_the_students_page_links_the_office_to_the_device_screen(client, office_user, ada):
    client.force_login(office_user)
    page = client.get(reverse("payments:student-detail", args=[ada.pk])).content.decode()
    assert f'href="{url(ada)}"' in page


def test_admin_lists_the_audit_rows_read_only(admin_client, office_user, ada):
    phone, _ = register_device(student=ada, name="Phone")
    response = admin_client.post(url(ada), {"device": [phone.pk], "reason": "lost"})
    assert response.status_code == 302
    listing = admin_client.get("/admin/portal/devicerevocation/")
    assert listing.status_code == 200 and "lost" in listing.content.decode()
    assert admin_client.get("/admin/portal/devicerevocation/add/").status_code == 403


def test_the_admins_revoke_action_writes_the_audit_row(admin_client, admin_user, ada):
    phone, _ = register_device(student=ada, name="Phone")
    response = admin_client.post(
        "/admin/attendance/device/",
        {"action": "revoke_selected", "_selected_action": [phone.pk]},
        follow=True,
    )
    assert "Revoked 1 device(s)." in response.content.decode()
    audit = DeviceRevocation.objects.get(device=phone)
    assert (audit.kind, audit.reason, audit.revoked_by) == (
        "revoked",
        "Revoked in the admin",
        admin_user,
    )


def test_the_audit_row_says_who_removed_the_device_once(ada, office_user):
    phone, _ = register_device(student=ada, name="Phone")
    row = DeviceRevocation(
        device=phone, kind="revoked", reason="lost", revoked_by=office_user, revoked_at=None
    )
    assert row.summary() == f"revoked by {office_user.get_username()}"
    row.kind = "reset"
    assert row.summary() == f"reset by {office_user.get_username()}"
    row.revoked_by = None  # the user has been deleted since
    assert row.summary() == "reset by the office"
    row.kind, row.revoked_by = "replaced", office_user  # the student did it themselves
    assert row.summary() == "replaced by the student"
