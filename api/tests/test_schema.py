"""/api/schema/ describes every endpoint; /api/docs/ is served without any CDN."""

import re

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

PATHS = {
    "/api/sessions/refresh/": {"post"},
    "/api/sessions/status/": {"get"},
    "/api/sessions/": {"post"},
    "/api/sessions/{session_id}/end/": {"post"},
    "/api/sessions/{session_id}/attendance/": {"get"},
    "/api/courses/": {"get"},
    "/api/courses/{course_id}/sessions/": {"get"},
    "/api/students/": {"get"},
    "/api/students/{student_id}/devices/": {"get", "post"},
    "/api/devices/{device_id}/revoke/": {"post"},
    "/api/payments/": {"post"},
    "/api/payments/{payment_id}/void/": {"post"},
    "/api/timetable/week/": {"get"},
    "/api/timetable/next/": {"get"},
}


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_it_lists_every_endpoint_and_method(schema):
    found = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    assert found == PATHS


def test_every_operation_declares_its_errors_in_the_envelope(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (method, path, status)
            if "requestBody" in operation:
                assert "400" in responses, (method, path)


def test_the_error_envelope_and_token_scheme_are_declared(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "detail"}
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")


def test_request_bodies_forbid_unknown_fields(schema):
    start = schema["components"]["schemas"]["SessionStartRequest"]
    assert start["additionalProperties"] is False


def test_the_docs_page_uses_only_local_static_files(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html  # screen readers read it in the right language
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any("swagger-ui" in url for url in urls)
    assert any(url.startswith("/api/docs/?script") for url in urls)
    for url in urls:
        # The start-up script is served by the page's own view (?script), not inline (CSP).
        assert url.startswith(("/static/", "/api/docs/?script")), url
    assert not re.findall(r"https?://", html)
    assert "cdn" not in html.lower()
    script = APIClient().get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_docs_page_static_files_are_served(db, client):
    html = client.get("/api/docs/").content.decode()
    for url in re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html):
        assert client.get(url).status_code == 200, url


def test_generating_the_schema_gives_no_warnings(db, tmp_path):
    # --fail-on-warn turns any endpoint drf-spectacular cannot describe into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().startswith("openapi: 3")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/docs/", 405),
        ("post", "/api/schema/", 405),
        ("options", "/api/docs/", 405),
        ("options", "/api/schema/", 405),
        ("get", "/api/schema/?format=xml", 404),
    ],
)
def test_errors_of_the_schema_and_docs_are_json(db, method, path, status):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error", "detail"}


def test_the_student_search_parameter_states_the_search_rule(schema):
    parameters = schema["paths"]["/api/students/"]["get"]["parameters"]
    [search] = [p for p in parameters if p["name"] == "search"]
    assert "every word" in search["description"]
    assert "email" in search["description"]
