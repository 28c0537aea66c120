"""The API's actors: each one a client carrying that actor's credentials."""

import pytest
from rest_framework.test import APIClient

from attendance.tokens import create_api_token
from payments.tests.builders import current_term

ACTORS = ["lecturer", "other_lecturer", "staff", "student", "anonymous", "bad_token"]


def token_client(user) -> APIClient:
    _token, key = create_api_token(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def billed_term(students):
    """The active term, fee 120.00, billed to every active student."""
    return current_term(billed=True)


@pytest.fixture
def client_for(lecturer, other_lecturer, other_course, staff_user, student_user, office_user):
    """A client for one of ACTORS (or "office"). other_lecturer teaches other_course only."""
    users = {
        "lecturer": lecturer,
        "other_lecturer": other_lecturer,
        "staff": staff_user,
        "student": student_user,
        "office": office_user,
    }

    def make(actor: str) -> APIClient:
        if actor == "anonymous":
            return APIClient()
        if actor == "bad_token":
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION="Token deadbeef.not-a-real-key")
            return client
        return token_client(users[actor])

    return make


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is the API's JSON error envelope with `status` (and `code`)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["error"] == code
    if status == 401:
        assert response["WWW-Authenticate"] == "Token"
    return body
