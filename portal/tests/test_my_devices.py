"""/me/devices/: the student's devices, and replacing an old phone with this browser."""

import pytest
from django.urls import reverse

from attendance.devices import DEVICE_COOKIE, authenticate_device, register_device
from attendance.models import Device
from portal.models import DeviceRevocation

JSON = {"HTTP_ACCEPT": "application/json"}


def replace_url(device) -> str:
    return reverse("portal:device-replace", args=[device.pk])


def test_the_list_shows_name_registered_last_used_and_state(pupil_client, ada):
    old, _ = register_device(student=ada, name="Old phone")
    register_device(student=ada, name="Tablet")
    pupil_client.post(replace_url(old), {"name": "New phone"}, **JSON)
    page = pupil_client.get(reverse("portal:devices")).content.decode()
    assert "Tablet" in page and "New phone" in page and "not used yet" in page
    assert "Old phone" in page and "replaced by the student" in page


def test_replacing_revokes_the_old_phone_and_registers_this_browser(
    pupil_client, pupil, ada, settings
):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    old, old_token = register_device(student=ada, name="Old phone")
    register_device(student=ada, name="Tablet")
    response = pupil_client.post(replace_url(old), {"name": "New phone"}, **JSON)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "New phone" and body["student"] == ada.student_number
    assert response.cookies[DEVICE_COOKIE].value == "1"
    # The new token works, the old one no longer does, and the limit still holds.
    assert authenticate_device(public_id=body["device"], token=body["token"]) is not None
    assert authenticate_device(public_id=str(old.public_id), token=old_token) is None
    assert Device.objects.filter(student=ada, is_active=True).count() == 2
    audit = DeviceRevocation.objects.get(device=old)
    assert audit.kind == "replaced" and audit.revoked_by == pupil
    assert str(audit.replaced_by.public_id) == body["device"]


def test_another_students_device_cannot_be_replaced(pupil_client, students):
    theirs, token = register_device(student=students[0], name="Theirs")
    response = pupil_client.post(replace_url(theirs), {"name": "Mine"}, **JSON)
    assert response.status_code == 409 and response.json()["error"] == "not_active"
    assert authenticate_device(public_id=str(theirs.public_id), token=token) is not None
    assert not Device.objects.filter(name="Mine").exists()


def test_a_revoked_device_cannot_be_replaced_again(pupil_client, ada):
    old, _ = register_device(student=ada, name="Old")
    assert pupil_client.post(replace_url(old), {"name": "A"}, **JSON).status_code == 201
    again = pupil_client.post(replace_url(old), {"name": "B"}, **JSON)
    assert again.status_code == 409
    assert not Device.objects.filter(name="B").exists()


@pytest.mark.parametrize("name", ["x" * 101, "my\x00phone"], ids=["overlong", "a null character"])
def test_a_name_it_cannot_keep_changes_nothing(pupil_client, ada, name):
    old, _ = register_device(student=ada, name="Old")
    response = pupil_client.post(replace_url(old), {"name": name}, **JSON)
    assert response.status_code == 400 and response.json()["error"] == "invalid_name"
    old.refresh_from_db()
    assert old.is_active


def test_without_javascript_the_form_changes_nothing_and_says_why(pupil_client, ada):
    old, _ = register_device(student=ada, name="Old")
    response = pupil_client.post(replace_url(old), {"name": "New"}, follow=True)
    assert "needs JavaScript" in response.content.decode()
    old.refresh_from_db()
    assert old.is_active and Device.objects.count() == 1


def test_replacing_needs_a_post(pupil_client, ada):
    old, _ = register_device(student=ada, name="Old")
    assert pupil_client.get(replace_url(old)).status_code == 405


@pytest.mark.parametrize("who", ["lecturer", "staff_user", "office_user"])
def test_other_roles_have_no_device_of_theirs_to_replace(client, request, ada, who):
    old, _ = register_device(student=ada, name="Old")
    client.force_login(request.getfixturevalue(who))
    response = client.post(replace_url(old), {"name": "New"}, **JSON)
    assert response.status_code == 403 and response.json()["error"] == "not_a_student"
    old.refresh_from_db()
    assert old.is_active


def test_an_anonymous_replace_goes_to_sign_in(client, ada):
    old, _ = register_device(student=ada, name="Old")
    response = client.post(replace_url(old), {"name": "New"}, **JSON)
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.is_active


def test_the_device_page_at_the_limit_points_to_replacing(pupil_client, ada, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 1
    register_device(student=ada, name="Old")
    response = pupil_client.post(reverse("device-register"), {"name": "New"})
    assert response.status_code == 409
    assert reverse("portal:devices") in response.json()["detail"]
