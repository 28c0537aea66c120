import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_login_page_has_username_and_password_fields(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html


def test_a_lecturer_signs_in_and_lands_on_the_dashboard(client, lecturer):
    response = client.post(reverse("login"), {"username": "lecturer", "password": "pw"})
    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client, lecturer):
    response = client.post(reverse("login"), {"username": "lecturer", "password": "nope"})
    assert response.status_code == 200
    assert "password didn't match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_dashboard_needs_a_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_logout_by_get_is_refused(client, lecturer):
    client.force_login(lecturer)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("dashboard")).status_code == 200


def test_logout_by_post_signs_out(client, lecturer):
    client.force_login(lecturer)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_session_cookie_dies_with_the_browser_and_the_session_after_an_hour(client, lecturer):
    response = client.post(reverse("login"), {"username": "lecturer", "password": "pw"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]
    assert client.session.get_expiry_age() == 3600


def test_a_plain_page_view_does_not_save_the_session_again(client, lecturer):
    client.post(reverse("login"), {"username": "lecturer", "password": "pw"})
    key = client.session.session_key
    saved = Session.objects.get(session_key=key).expire_date
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get(session_key=key).expire_date == saved


def _nav(html: str) -> str:
    return html.split("<nav>", 1)[1].split("</nav>", 1)[0]


def test_a_student_signs_in_to_a_bar_that_offers_check_in_only(client, make_user, students):
    user = make_user("ada")
    students[0].user = user
    students[0].save()
    response = client.post(reverse("login"), {"username": "ada", "password": "pw"}, follow=True)
    nav = _nav(response.content.decode())
    assert f'href="{reverse("device")}"' in nav
    for lecturers_page in ("dashboard", "session-list", "payments:student-list"):
        assert f'href="{reverse(lecturers_page)}"' not in nav


def test_a_lecturer_who_is_also_a_student_keeps_the_lecturers_bar(client, lecturer, students):
    students[0].user = lecturer
    students[0].save()
    client.post(reverse("login"), {"username": "lecturer", "password": "pw"})
    nav = _nav(client.get(reverse("dashboard")).content.decode())
    assert f'href="{reverse("session-list")}"' in nav
    assert f'href="{reverse("device")}"' not in nav
