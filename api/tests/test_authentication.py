"""Both ways in: a browser session with CSRF, and `Authorization: Token <key>`."""

import pytest
from rest_framework.test import APIClient

from api.tests.conftest import assert_error
from attendance.models import ApiToken, NetworkSession
from attendance.tokens import create_api_token, revoke_api_token

URL = "/api/sessions/"


@pytest.fixture
def browser(lecturer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(lecturer)
    return client


def test_a_browser_session_without_a_csrf_token_is_refused(browser, course):
    response = browser.post(URL, {"course_id": course.pk}, format="json")
    body = assert_error(response, 403, "permission_denied")
    assert "CSRF" in body["detail"]
    assert not NetworkSession.objects.exists()


def test_a_browser_session_with_the_csrf_token_is_accepted(browser, course):
    secret = "a" * 32  # the cookie's secret; Django also accepts it unmasked in the header
    browser.cookies["csrftoken"] = secret
    response = browser.post(URL, {"course_id": course.pk}, format="json", HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 201
    assert NetworkSession.objects.filter(course=course, is_active=True).count() == 1


def test_a_browser_session_reads_without_csrf(browser, course):
    assert browser.get("/api/sessions/status/", {"course_id": course.pk}).status_code == 200


def test_a_token_works_and_is_stamped(lecturer, course):
    token, key = create_api_token(user=lecturer, name="script")
    client = APIClient()
    response = client.post(
        URL, {"course_id": course.pk}, format="json", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_a_401(lecturer, course):
    token, key = create_api_token(user=lecturer, name="script")
    revoke_api_token(token=ApiToken.objects.get(pk=token.pk))
    response = APIClient().post(
        URL, {"course_id": course.pk}, format="json", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert_error(response, 401, "authentication_failed")
    assert not NetworkSession.objects.exists()


def test_a_token_of_an_inactive_user_is_a_401(lecturer, course):
    _token, key = create_api_token(user=lecturer, name="script")
    lecturer.is_active = False
    lecturer.save(update_fields=["is_active"])
    response = APIClient().get(
        "/api/sessions/status/", {"course_id": course.pk}, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert_error(response, 401, "authentication_failed")


@pytest.mark.parametrize(
    "header", ["Token", "Token a b", "Token \xff", "Token nodot", "Token x." + "a" * 300]
)
def test_a_malformed_token_header_is_a_401(course, header):
    response = APIClient().get(
        "/api/sessions/status/", {"course_id": course.pk}, HTTP_AUTHORIZATION=header
    )
    assert_error(response, 401, "authentication_failed")


def test_no_credentials_is_a_401_with_www_authenticate(course):
    response = APIClient().get("/api/sessions/status/", {"course_id": course.pk})
    assert_error(response, 401, "not_authenticated")
