import uuid

import pytest

from api.tests.conftest import assert_error
from attendance.devices import authenticate_device, register_device


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
