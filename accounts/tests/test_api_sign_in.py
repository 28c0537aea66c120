"""The API's sign-in paths: a token for programs, a session for browser apps;
throttled per address and counted towards the lockout."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.api import SignInThrottle
from attendance.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle():
    # DRF counts requests in the cache; each test starts from none.
    cache.clear()
    yield
    cache.clear()


def post(client, name, body, **extra):
    return client.post(reverse(name), body, content_type="application/json", **extra)


def test_a_program_trades_username_and_password_for_a_token(client, lecturer, course):
    response = post(client, "api-token", {"username": "lecturer", "password": "pw", "name": "sync"})
    assert response.status_code == 201
    key = response.json()["token"]
    assert ApiToken.objects.get(user=lecturer).name == "sync"
    courses = client.get("/api/courses/", headers={"Authorization": f"Token {key}"})
    assert courses.status_code == 200


def test_a_wrong_password_is_a_json_400(client, lecturer):
    response = post(client, "api-token", {"username": "lecturer", "password": "no"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_a_malformed_body_is_a_json_400(client, lecturer):
    response = post(client, "api-token", {"username": "lecturer", "pasword": "pw"})
    assert response.status_code == 400 and response.json()["error"] == "invalid"


def test_the_token_path_is_throttled_per_address(client, lecturer, monkeypatch):
    monkeypatch.setattr(SignInThrottle, "rate", "3/min", raising=False)
    for _ in range(3):
        post(client, "api-token", {"username": "x", "password": "y"}, REMOTE_ADDR="10.7.7.7")
    right = {"username": "lecturer", "password": "pw"}
    response = post(client, "api-token", right, REMOTE_ADDR="10.7.7.7")
    assert response.status_code == 429 and response.json()["error"] == "throttled"
    assert post(client, "api-token", right, REMOTE_ADDR="10.6.6.6").status_code == 201


def test_a_made_up_forwarded_address_does_not_escape_the_throttle(client, lecturer, monkeypatch):
    monkeypatch.setattr(SignInThrottle, "rate", "3/min", raising=False)
    answers = [
        post(
            client,
            "api-token",
            {"username": "x", "password": "y"},
            REMOTE_ADDR="10.7.7.7",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}",
        ).status_code
        for i in range(4)
    ]
    assert answers[-1] == 429, answers


def test_the_login_path_is_throttled_too(client, lecturer, monkeypatch):
    monkeypatch.setattr(SignInThrottle, "rate", "2/min", raising=False)
    for _ in range(2):
        post(client, "api-login", {"username": "x", "password": "y"})
    assert post(client, "api-login", {"username": "x", "password": "y"}).status_code == 429


def test_five_wrong_passwords_lock_the_token_path_too(client, lecturer):
    for i in range(5):
        post(
            client,
            "api-token",
            {"username": "lecturer", "password": "no"},
            REMOTE_ADDR=f"10.0.0.{i}",
        )
    response = post(
        client, "api-token", {"username": "lecturer", "password": "pw"}, REMOTE_ADDR="10.0.9.9"
    )
    assert response.status_code == 429
    assert response.json()["error"] == "locked_out"
    assert "Too many failed sign-ins" in response.json()["detail"]


def test_the_login_path_signs_a_browser_in_with_csrf(lecturer):
    browser = Client(enforce_csrf_checks=True)
    refused = post(browser, "api-login", {"username": "lecturer", "password": "pw"})
    assert refused.status_code == 403
    browser.get(reverse("login"))
    token = browser.cookies["csrftoken"].value
    response = post(
        browser,
        "api-login",
        {"username": "lecturer", "password": "pw"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200 and response.json()["home"] == "/"
    assert browser.get(reverse("dashboard")).status_code == 200
