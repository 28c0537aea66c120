import logging

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.interrupted_urls")]


@pytest.fixture
def signed_in(client, lecturer):
    client.force_login(lecturer)
    return client


def test_it_sends_the_user_to_the_login_page_with_a_message(signed_in, caplog):
    with caplog.at_level(logging.WARNING, logger="rollcall.sessions"):
        response = signed_in.get("/lose-session/")
    assert response.status_code == 302
    assert response.url == reverse("login") + "?interrupted=1"
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""
    login_page = signed_in.get(response.url)
    assert login_page.status_code == 200
    assert "Your session ended while the page was loading" in login_page.content.decode()
    [warning] = [r for r in caplog.records if r.name == "rollcall.sessions"]
    assert warning.levelno == logging.WARNING
    assert "interrupted on GET /lose-session/" in warning.getMessage()


def test_an_htmx_request_gets_a_redirect_htmx_follows(signed_in):
    response = signed_in.get("/lose-session/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login") + "?interrupted=1"


def test_an_api_request_gets_a_json_error(signed_in):
    response = signed_in.get("/api/lose-session/")
    assert response.status_code == 401
    assert response.json()["error"] == "session_interrupted"


def test_a_session_that_survives_is_saved_normally(signed_in):
    # Without the deletion the same change is stored: the middleware only
    # steps in when the row is gone.
    signed_in.get(reverse("dashboard"))
    session = signed_in.session
    session["flag"] = 1
    session.save()
    assert signed_in.get(reverse("dashboard")).status_code == 200
    assert signed_in.session["flag"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_logout_on_another_connection_mid_request_ends_on_the_login_page(signed_in):
    response = signed_in.get("/lose-session-elsewhere/")
    assert response.status_code == 302
    assert response.url == reverse("login") + "?interrupted=1"
