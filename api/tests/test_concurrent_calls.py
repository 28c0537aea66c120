"""Two clients at once through the API: the services' locks and constraints decide."""

import pytest

from api.tests.conftest import token_client
from attendance.devices import register_device
from attendance.models import AttendanceRecord, Device, NetworkSession
from attendance.sessions import start_session
from conftest import run_at_once
from portal.devices import reset_devices
from portal.models import DeviceRevocation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_ends_give_equal_answers_and_one_register(course, students, lecturer):
    session, _ = start_session(course=course, by=lecturer)
    url = f"/api/sessions/{session.pk}/end/"
    a, b = token_client(lecturer), token_client(lecturer)
    first, second = run_at_once(2, lambda i: (a, b)[i].post(url))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    assert AttendanceRecord.objects.filter(session=session).count() == 5
    session.refresh_from_db()
    assert not session.is_active


def test_two_concurrent_starts_make_one_session(course, students, lecturer, staff_user):
    body = {"course_id": course.pk}
    a, b = token_client(lecturer), token_client(staff_user)
    first, second = run_at_once(2, lambda i: (a, b)[i].post("/api/sessions/", body, format="json"))
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    assert NetworkSession.objects.filter(course=course).count() == 1


def test_an_api_revoke_racing_the_offices_reset_leaves_one_audit_row(students, staff_user):
    device, _ = register_device(student=students[0], name="phone")
    client = token_client(staff_user)

    def work(i: int):
        if i == 0:
            return client.post(f"/api/devices/{device.public_id}/revoke/").status_code
        return len(
            reset_devices(student=students[0], device_ids=[device.pk], by=staff_user, reason="lost")
        )

    api_status, reset_count = run_at_once(2, work)
    assert api_status == 200, api_status
    audit = DeviceRevocation.objects.get(device=device)  # exactly one
    assert audit.kind == ("reset" if reset_count == 1 else "revoked")
    assert not Device.objects.get(pk=device.pk).is_active
