"""Signing in: Remember me, each role's home, argon2, lockout and its unlock."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from accounts.roles import lecturers_group
from payments.permissions import ensure_fees_office_group

pytestmark = pytest.mark.django_db


def sign_in(client, username, password="pw", **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_remember_me_keeps_the_session_for_the_remember_days_across_browser_restarts(
    client, lecturer
):
    response = sign_in(client, "lecturer", remember_me="on")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    days = settings.SESSION_REMEMBER_DAYS
    assert days == 14
    # A max-age makes the cookie outlive the browser; without it the cookie dies with it.
    assert int(cookie["max-age"]) == days * 24 * 3600
    assert client.session.get_expiry_age() == days * 24 * 3600
    assert lecturer.web_sessions.get().remembered


def test_without_remember_me_the_cookie_dies_with_the_browser(client, lecturer):
    cookie = sign_in(client, "lecturer").cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert not lecturer.web_sessions.get().remembered


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("lecturer", "dashboard"),
        ("staff", "dashboard"),
        ("office", "payments:student-list"),
        ("student", "portal:me"),
    ],
)
def test_each_role_lands_on_its_own_home(client, make_user, students, role, home):
    user = make_user("someone", staff=role == "staff")
    if role == "lecturer":
        lecturers_group().user_set.add(user)
    elif role == "office":
        user.groups.add(ensure_fees_office_group())
    elif role == "student":
        students[0].user = user
        students[0].save()
    response = sign_in(client, "someone")
    assert response.status_code == 302 and response.url == reverse(home)


def test_a_next_parameter_still_wins_over_the_home(client, make_user):
    make_user("office").groups.add(ensure_fees_office_group())
    response = sign_in(client, "office", next="/sessions/")
    assert response.url == "/sessions/"


def test_an_old_password_hash_is_upgraded_to_argon2_at_sign_in(client, make_user, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = make_user("old")
    user.password = make_password("old-secret-1", hasher="pbkdf2_sha256")
    user.save()
    assert sign_in(client, "old", "old-secret-1").status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert user.check_password("old-secret-1")


def test_the_production_hashers_put_argon2_first():
    from config import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def _fail(client, username, ip):
    return client.post(
        reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR=ip
    )


def test_five_failures_lock_the_username_whatever_the_address(client, lecturer):
    for i in range(4):
        assert _fail(client, "lecturer", f"10.0.0.{i}").status_code == 200
    # The fifth failure locks, and says so.
    assert _fail(client, "lecturer", "10.0.0.4").status_code == 429
    # The right password from yet another address is refused now, with a clear message.
    response = client.post(
        reverse("login"), {"username": "lecturer", "password": "pw"}, REMOTE_ADDR="10.0.1.1"
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_username_longer_than_any_fails_like_any_wrong_one_and_still_counts(client):
    # Axes keeps a failed sign-in's username in 255 characters: a longer one was a 500.
    long = "x" * 5000
    for i in range(4):
        assert _fail(client, long, f"10.5.5.{i}").status_code == 200
    assert _fail(client, long, "10.5.5.9").status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"x" * 150}


def test_five_failures_from_one_address_lock_that_address_for_every_username(
    client, lecturer, other_lecturer
):
    for i in range(5):
        _fail(client, f"guess{i}", "10.9.9.9")
    response = client.post(
        reverse("login"), {"username": "other_lecturer", "password": "pw"}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 429
    # Another address is not locked for that user.
    ok = client.post(
        reverse("login"), {"username": "other_lecturer", "password": "pw"}, REMOTE_ADDR="10.8.8.8"
    )
    assert ok.status_code == 302


def test_four_failures_then_the_right_password_signs_in_and_resets_the_count(client, lecturer):
    for _ in range(4):
        _fail(client, "lecturer", "10.0.0.1")
    ok = client.post(
        reverse("login"), {"username": "lecturer", "password": "pw"}, REMOTE_ADDR="10.0.0.1"
    )
    assert ok.status_code == 302
    assert not AccessAttempt.objects.filter(
        username="lecturer", failures_since_start__gt=0
    ).exists()


def test_the_lock_lifts_after_the_cool_off(client, lecturer):
    for i in range(5):
        _fail(client, "lecturer", f"10.0.0.{i}")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.first().attempt_time
        - timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES + 1)
    )
    ok = client.post(
        reverse("login"), {"username": "lecturer", "password": "pw"}, REMOTE_ADDR="10.0.2.2"
    )
    assert ok.status_code == 302


def test_an_admin_unlocks_a_locked_user(client, lecturer, staff_user):
    for i in range(5):
        _fail(client, "lecturer", f"10.0.0.{i}")
    admin = client.__class__()
    admin.force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()
    response = admin.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock", "_selected_action": [lecturer.pk]},
    )
    assert response.status_code == 302
    ok = client.post(
        reverse("login"), {"username": "lecturer", "password": "pw"}, REMOTE_ADDR="10.0.3.3"
    )
    assert ok.status_code == 302


def test_the_login_page_offers_remember_me_reset_and_codes(client):
    html = client.get(reverse("login")).content.decode()
    assert 'name="remember_me"' in html
    assert reverse("accounts:password-reset") in html and reverse("login-code") in html


def test_the_login_page_says_the_session_ended_when_sent_there_by_the_timer(client):
    html = client.get(reverse("login") + "?expired=1&next=/sessions/").content.decode()
    assert "Your session has ended" in html and 'value="/sessions/"' in html


def test_a_user_of_no_role_still_signs_in(client, db):
    get_user_model().objects.create_user("plain", password="pw")
    assert sign_in(client, "plain").status_code == 302


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (
            "office",
            ["payments:student-list", "reports:school-at-risk"],
            ["dashboard", "session-list"],
        ),
        ("lecturer", ["dashboard", "session-list", "excuses:queue"], []),
        ("student", ["portal:me", "excuses:mine"], ["dashboard", "payments:student-list"]),
    ],
)
def test_each_roles_bar_offers_its_own_pages(client, make_user, students, role, shown, hidden):
    user = make_user("someone")
    if role == "lecturer":
        lecturers_group().user_set.add(user)
    elif role == "office":
        user.groups.add(ensure_fees_office_group())
    else:
        students[0].user = user
        students[0].save()
    home = client.get(sign_in(client, "someone").url)
    bar = home.content.decode().split("<nav>", 1)[1].split("</nav>", 1)[0]
    for name in shown:
        assert f'href="{reverse(name)}"' in bar, name
    for name in hidden:
        assert f'href="{reverse(name)}"' not in bar, name
