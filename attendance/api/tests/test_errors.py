"""The error envelope where no single endpoint owns the case."""

import pytest

from attendance.api.tests.conftest import assert_error


@pytest.mark.parametrize(
    "path", ["/api/", "/api/nothing-here/", "/api/sessions/x/end/", "/api/sessions/refresh"]
)
def test_an_unknown_api_url_is_a_json_404(client_for, path):
    assert_error(client_for("staff").get(path), 404, "not_found")
    assert_error(client_for("anonymous").post(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/sessions/"),
        ("delete", "/api/sessions/1/end/"),
        ("put", "/api/students/"),
        ("patch", "/api/sessions/status/"),
    ],
)
def test_a_wrong_method_is_a_json_405(client_for, course, method, path):
    response = getattr(client_for("staff"), method)(path)
    assert_error(response, 405, "method_not_allowed")


def test_an_unhandled_error_is_a_json_500_without_a_traceback(client_for, course, monkeypatch):
    from attendance.api.views import sessions as views

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.sessions, "refresh_active_sessions", broken)
    client = client_for("staff")
    client.raise_request_exception = False
    response = client.post("/api/sessions/refresh/")
    body = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert set(body) == {"error", "detail"}


def test_a_post_to_an_unknown_url_from_a_browser_session_is_a_json_404(lecturer):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(lecturer)
    assert_error(client.post("/api/devices/null/revoke/"), 404, "not_found")


def test_json_nested_too_deeply_is_a_400(client_for, course):
    response = client_for("staff").post(
        "/api/sessions/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert_error(response, 400, "parse_error")
