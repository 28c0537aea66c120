import pytest
from django.test import Client
from django.urls import reverse

from attendance.devices import authenticate_device, register_device
from attendance.models import Device
from realtime.views import DEVICE_COOKIE

pytestmark = pytest.mark.django_db


def _register(client: Client, name: str = "Pixel"):
    return client.post(reverse("device-register"), {"name": name})


def test_it_renders_the_page_for_a_signed_in_student(client, student_user):
    client.force_login(student_user)
    response = client.get("/device/?code=123456")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'inputmode="numeric"' in body
    assert 'data-student="S00000"' in body
    assert "js/device.js" in body
    assert "<script>" not in body  # no inline script: strict-CSP friendly
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_sends_an_anonymous_visitor_to_sign_in_and_back(client):
    response = client.get("/device/?code=123456")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/device/%3Fcode%3D123456"


def test_it_opens_the_page_without_signing_in_on_a_registered_phone(client):
    client.cookies[DEVICE_COOKIE] = "1"
    response = client.get("/device/")
    assert response.status_code == 200
    assert 'data-student=""' in response.content.decode()


def test_it_tells_a_user_without_a_student_record_what_to_do(client, lecturer):
    client.force_login(lecturer)
    response = client.get("/device/")
    assert response.status_code == 200
    assert "not linked to a student record" in response.content.decode()
    assert 'id="device-app"' not in response.content.decode()


def test_registration_creates_one_device_and_returns_its_token_once(client, student_user):
    client.force_login(student_user)
    response = _register(client)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"device", "token", "name", "student"}
    assert body["student"] == "S00000" and body["name"] == "Pixel"
    assert response.cookies[DEVICE_COOKIE].value == "1"
    assert "no-store" in response["Cache-Control"]
    device = Device.objects.get()
    assert str(device.public_id) == body["device"]
    assert device.student.user == student_user
    assert body["token"] not in device.token_hash
    assert authenticate_device(public_id=body["device"], token=body["token"]) == device
    # The token is never shown again: the page does not carry it.
    assert body["token"] not in client.get("/device/").content.decode()


def test_registration_reports_the_device_limit_and_creates_nothing(client, student_user, settings):
    settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT = 2
    student = student_user.student
    register_device(student=student, name="old phone")
    register_device(student=student, name="tablet")
    client.force_login(student_user)
    response = _register(client)
    assert response.status_code == 409
    assert response.json()["error"] == "device_limit"
    assert "2 registered devices" in response.json()["detail"]
    assert Device.objects.filter(student=student).count() == 2


def test_registration_requires_the_csrf_token(student_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(student_user)
    response = _register(client)
    assert response.status_code == 403
    assert Device.objects.count() == 0
    page = client.get("/device/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        reverse("device-register"), {"name": "Pixel", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 201
    assert Device.objects.count() == 1


def test_registration_refuses_anonymous_and_non_student_users(client, lecturer):
    response = _register(client)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    client.force_login(lecturer)
    response = _register(client)
    assert response.status_code == 403
    assert response.json()["error"] == "not_a_student"
    assert Device.objects.count() == 0


@pytest.mark.parametrize("name", ["x" * 101, "my\x00phone"], ids=["overlong", "a null character"])
def test_registration_rejects_a_name_it_cannot_keep(client, student_user, name):
    client.force_login(student_user)
    response = _register(client, name=name)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_name"
    assert Device.objects.count() == 0


def test_registration_only_accepts_post(client, student_user):
    client.force_login(student_user)
    assert client.get(reverse("device-register")).status_code == 405
    assert Device.objects.count() == 0
