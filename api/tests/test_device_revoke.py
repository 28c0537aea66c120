import uuid

import pytest

from api.tests.conftest import assert_error
from attendance.devices import authenticate_device, register_device
from portal.models import DeviceRevocation


def url(public_id) -> str:
    return f"/api/devices/{public_id}/revoke/"


@pytest.fixture
def device_and_token(students):
    return register_device(student=students[0], name="phone")


def test_it_revokes_the_device(client_for, device_and_token):
    device, token = device_and_token
    response = client_for("staff").post(url(device.public_id))
    assert response.status_code == 200
    body = response.json()
    assert body["is_active"] is False and body["revoked_at"] is not None
    device.refresh_from_db()
    assert not device.is_active
    assert authenticate_device(public_id=str(device.public_id), token=token) is None


def test_it_keeps_who_revoked_it_and_why(client_for, device_and_token, staff_user):
    device, _ = device_and_token
    response = client_for("staff").post(
        url(device.public_id), {"reason": "  Lost on the bus "}, format="json"
    )
    assert response.status_code == 200
    audit = DeviceRevocation.objects.get(device=device)
    assert (audit.kind, audit.reason, audit.revoked_by) == (
        "revoked",
        "Lost on the bus",
        staff_user,
    )
    device.refresh_from_db()
    assert audit.revoked_at == device.revoked_at


def test_without_a_reason_the_audit_row_says_it_came_through_the_api(client_for, device_and_token):
    device, _ = device_and_token
    assert client_for("staff").post(url(device.public_id)).status_code == 200
    assert DeviceRevocation.objects.get(device=device).reason == "Revoked through the API"


def test_a_second_revoke_keeps_the_first_audit_row(client_for, device_and_token):
    device, _ = device_and_token
    client = client_for("staff")
    client.post(url(device.public_id), {"reason": "stolen"}, format="json")
    client.post(url(device.public_id), {"reason": "found again"}, format="json")
    assert list(DeviceRevocation.objects.values_list("reason", flat=True)) == ["stolen"]


@pytest.mark.parametrize("reason", ["x" * 301, 5, None, ["lost"]])
def test_a_bad_reason_is_a_400_and_changes_nothing(client_for, device_and_token, reason):
    device, _ = device_and_token
    response = client_for("staff").post(url(device.public_id), {"reason": reason}, format="json")
    assert_error(response, 400, "invalid")
    device.refresh_from_db()
    assert device.is_active and not DeviceRevocation.objects.exists()


def test_revoking_twice_gives_the_same_answer(client_for, device_and_token):
    device, _ = device_and_token
    client = client_for("staff")
    first = client.post(url(device.public_id))
    second = client.post(url(device.public_id))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()


def test_an_unknown_device_is_a_404(client_for, device_and_token):
    client = client_for("staff")
    assert_error(client.post(url(uuid.uuid4())), 404, "not_found")
    assert_error(client.post(url("not-a-uuid")), 404, "not_found")


def test_it_rejects_unknown_fields(client_for, device_and_token):
    device, _ = device_and_token
    response = client_for("staff").post(url(device.public_id), {"why": "lost"}, format="json")
    assert_error(response, 400, "invalid")
    device.refresh_from_db()
    assert device.is_active


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("staff", 200),
        ("lecturer", 403),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_only_staff_revoke(client_for, device_and_token, actor, status):
    device, _ = device_and_token
    response = client_for(actor).post(url(device.public_id))
    device.refresh_from_db()
    if status == 200:
        assert response.status_code == 200
        assert not device.is_active
    else:
        assert_error(response, status)
        assert device.is_active
