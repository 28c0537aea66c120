"""The error envelope where no single endpoint owns the case."""

import json

import pytest
from django.db import OperationalError

from api.tests.conftest import assert_error
from attendance.models import NetworkSession


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/nothing-here/",
        "/api/sessions/x/end/",
        "/api/sessions/refresh",
        "/api/courses/a%0Ab/sessions/",  # a newline, which "." does not match
    ],
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
    from api.views import sessions as views

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


@pytest.mark.parametrize("path", ["/api/students/", "/api/nothing-here/", "/api/schema/"])
def test_a_host_not_in_allowed_hosts_is_a_json_400_on_the_api(client_for, path):
    response = client_for("staff").get(path, headers={"host": "evil.example"})
    body = assert_error(response, 400, "bad_request")
    assert set(body) == {"error", "detail"}
    assert "evil.example" not in response.content.decode()
    assert "<html" not in response.content.decode().lower()


def test_a_host_not_in_allowed_hosts_is_a_json_400_for_a_post_too(client_for):
    response = client_for("anonymous").post("/api/sessions/", {}, HTTP_HOST="evil.example")
    assert_error(response, 400, "bad_request")


def test_a_host_not_in_allowed_hosts_is_still_django_s_html_400_on_a_page(client):
    for path in ["/", "/students/", "/login/"]:
        response = client.get(path, headers={"host": "evil.example"})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        assert "Bad Request (400)" in response.content.decode()


def test_an_allowed_host_reaches_the_api(client_for, course):
    response = client_for("staff").get("/api/courses/", headers={"host": "localhost"})
    assert response.status_code == 200


def _broken_middleware(monkeypatch, error: Exception | None = None):
    """A middleware that raises `error` (by default one with internals in its message)."""
    from accounts.middleware import HtmxLoginRedirectMiddleware

    def broken(self, request):
        raise error or RuntimeError("secret internals")

    monkeypatch.setattr(HtmxLoginRedirectMiddleware, "__call__", broken)


def test_an_error_outside_the_api_views_is_a_json_500_on_the_api(client_for, monkeypatch):
    _broken_middleware(monkeypatch)
    client = client_for("staff")
    client.raise_request_exception = False
    response = client.get("/api/courses/")
    body = assert_error(response, 500, "server_error")
    assert "secret internals" not in response.content.decode()
    assert set(body) == {"error", "detail"}


def test_an_error_outside_the_views_is_still_django_s_html_500_on_a_page(client, monkeypatch):
    _broken_middleware(monkeypatch)
    client.raise_request_exception = False
    response = client.get("/login/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "secret internals" not in response.content.decode()


def test_too_many_query_fields_is_a_json_400_not_a_500(client_for, students):
    fields = "&".join(f"f{i}=1" for i in range(1_001))
    response = client_for("staff").get(f"/api/students/?{fields}")
    body = assert_error(response, 400, "bad_request")
    assert "DATA_UPLOAD" not in body["detail"]


def test_a_body_over_the_upload_limit_is_a_json_413_not_a_500(client_for, course, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"course_id": course.pk, "note": "x" * 2_000})
    response = client_for("staff").post("/api/sessions/", body, content_type="application/json")
    refusal = assert_error(response, 413, "too_large")
    assert "1000 bytes" in refusal["detail"]
    assert not NetworkSession.objects.exists()


def _database_away(monkeypatch):
    """What a request meets while PostgreSQL restarts: the first query fails."""
    _broken_middleware(
        monkeypatch, OperationalError("connection failed: the database system is starting up")
    )


def test_a_page_while_the_database_is_away_is_a_503_to_retry_not_a_500(client, monkeypatch):
    _database_away(monkeypatch)
    client.raise_request_exception = False
    response = client.get("/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "Back in a moment" in html and "cannot reach its database" in html
    assert "starting up" not in html


def test_the_api_while_the_database_is_away_is_a_json_503(client_for, monkeypatch):
    _database_away(monkeypatch)
    client = client_for("staff")
    client.raise_request_exception = False
    response = client.get("/api/courses/")
    body = assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "30"
    assert "starting up" not in body["detail"]


def test_an_api_view_whose_query_fails_so_is_a_json_503(client_for, monkeypatch, course):
    from api.views import courses

    def away(*args, **kwargs):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr(courses, "courses_for_user", away)
    response = client_for("staff").get("/api/courses/")
    assert_error(response, 503, "unavailable")
