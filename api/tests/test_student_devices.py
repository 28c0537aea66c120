import pytest

from api.tests.conftest import assert_error
from attendance.devices import authenticate_device, register_device, revoke_device
from attendance.models import Device


def url(student_id: int) -> str:
    return f"/api/students/{student_id}/devices/"


def test_it_registers_a_device_and_shows_the_token_once(client_for, students):
    client = client_for("staff")
    response = client.post(url(students[0].pk), {"name": "Ada's phone"}, format="json")
    assert response.status_code == 201
    body = response.json()
    device = Device.objects.get(student=students[0])
    assert body["id"] == str(device.public_id)
    assert (body["name"], body["student"], body["is_active"]) == (
        "Ada's phone",
        students[0].student_number,
        True,
    )
    assert authenticate_device(public_id=body["id"], token=body["token"]) == device
    assert body["token"] not in device.token_hash
    listed = client.get(url(students[0].pk)).json()
    assert "token" not in listed[0] and "token_hash" not in listed[0]


def test_the_name_is_optional(client_for, students):
    response = client_for("staff").post(url(students[0].pk))
    assert response.status_code == 201
    assert Device.objects.get(student=students[0]).name == "Device"


def test_it_answers_409_at_the_device_limit(client_for, students, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 1
    register_device(student=students[0], name="first")
    response = client_for("staff").post(url(students[0].pk), {"name": "second"}, format="json")
    assert_error(response, 409, "device_limit_reached")
    assert Device.objects.filter(student=students[0]).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": 7},
        {"name": "x" * 101},
        {"name": "ok", "token": "mine"},
        ["phone"],
        {"name": "a\x00b"},
    ],
)
def test_it_rejects_invalid_bodies(client_for, students, body):
    assert_error(client_for("staff").post(url(students[0].pk), body, format="json"), 400)
    assert not Device.objects.exists()


def test_a_lone_surrogate_in_a_name_is_a_400(client_for, students):
    raw = '{"name": "lone \\ud800 surrogate"}'  # valid JSON, but not storable text
    response = client_for("staff").post(url(students[0].pk), raw, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert not Device.objects.exists()


def test_it_lists_active_and_revoked_devices(client_for, students):
    old, _ = register_device(student=students[0], name="old")
    revoke_device(device=old)
    register_device(student=students[0], name="new")
    response = client_for("staff").get(url(students[0].pk))
    assert response.status_code == 200
    assert {(row["name"], row["is_active"]) for row in response.json()} == {
        ("old", False),
        ("new", True),
    }


def test_an_unknown_student_is_a_404(client_for, students):
    client = client_for("staff")
    assert_error(client.get(url(students[-1].pk + 1000)), 404, "not_found")
    assert_error(client.post(url(students[-1].pk + 1000)), 404, "not_found")


@pytest.mark.parametrize(
    ("actor", "status"),
    [
        ("staff", 201),
        ("lecturer", 403),
        ("other_lecturer", 403),
        ("student", 403),
        ("anonymous", 401),
        ("bad_token", 401),
    ],
)
def test_only_staff_register_devices(client_for, students, actor, status):
    response = client_for(actor).post(url(students[0].pk), {"name": "p"}, format="json")
    if status == 201:
        assert response.status_code == 201
        assert Device.objects.filter(student=students[0]).count() == 1
    else:
        body = assert_error(response, status)
        assert "token" not in body
        assert not Device.objects.exists()


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
def test_only_staff_list_devices(client_for, students, actor, status):
    register_device(student=students[0], name="p")
    response = client_for(actor).get(url(students[0].pk))
    if status == 200:
        assert response.status_code == 200
        assert len(response.json()) == 1
    else:
        assert_error(response, status)


@pytest.mark.parametrize("n", [5, 50])
def test_listing_devices_costs_the_same_queries_for_5_or_50(
    client_for, students, n, django_assert_num_queries
):
    for i in range(n):
        revoke_device(device=register_device(student=students[0], name=f"old {i}")[0])
    client = client_for("staff")
    # Token and its stamp, the student, the devices with their student.
    with django_assert_num_queries(4):
        response = client.get(url(students[0].pk))
    assert len(response.json()) == n
