"""The user's signed-in sessions: listed, ended one by one or all others, after a
password change, by an admin; "last active" written at most once per interval."""

import json
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserSession
from accounts.sessions import ACTIVITY_KEY, describe_browser, follow_session_key

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def browser(user_agent: str, ip: str, username="lecturer") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post(reverse("login"), {"username": username, "password": "pw"})
    assert response.status_code == 302
    return client


def test_the_sessions_page_lists_each_browser_with_its_address_and_times(lecturer):
    laptop = browser(FIREFOX, "10.1.1.1")
    browser(IPHONE, "10.2.2.2")
    html = laptop.get(reverse("accounts:sessions")).content.decode()
    assert "Firefox on Linux" in html and "10.1.1.1" in html
    assert "Mobile Safari on iOS" in html and "10.2.2.2" in html
    assert "This browser" in html and "Sign out all other sessions (1)" in html


def test_signing_out_one_session_ends_it_there(lecturer):
    laptop = browser(FIREFOX, "10.1.1.1")
    phone = browser(IPHONE, "10.2.2.2")
    phone_row = UserSession.objects.get(ip_address="10.2.2.2")
    response = laptop.post(reverse("accounts:session-end", args=[phone_row.pk]))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=phone_row.session_key).exists()
    landed = phone.get(reverse("dashboard"))
    assert landed.status_code == 302 and landed.url.startswith(reverse("login"))
    assert laptop.get(reverse("dashboard")).status_code == 200


def test_nobody_can_sign_out_someone_elses_session(lecturer, other_lecturer):
    mine = browser(FIREFOX, "10.1.1.1")
    theirs = browser(IPHONE, "10.2.2.2", username="other_lecturer")
    row = UserSession.objects.get(user=other_lecturer)
    mine.post(reverse("accounts:session-end", args=[row.pk]))
    assert theirs.get(reverse("dashboard")).status_code == 200


def test_sign_out_all_others_keeps_only_this_browser(lecturer):
    laptop = browser(FIREFOX, "10.1.1.1")
    others = [browser(IPHONE, f"10.2.2.{i}") for i in range(3)]
    laptop.post(reverse("accounts:session-end-others"))
    assert UserSession.objects.filter(user=lecturer).count() == 1
    for other in others:
        assert other.get(reverse("dashboard")).status_code == 302
    assert laptop.get(reverse("dashboard")).status_code == 200


def test_a_password_change_signs_out_the_other_sessions_and_keeps_this_one(lecturer):
    laptop = browser(FIREFOX, "10.1.1.1")
    phone = browser(IPHONE, "10.2.2.2")
    response = laptop.post(
        reverse("accounts:password-change"),
        {
            "old_password": "pw",
            "new_password1": "a-much-better-pass-42",
            "new_password2": "a-much-better-pass-42",
        },
    )
    assert response.status_code == 302
    assert laptop.get(reverse("dashboard")).status_code == 200
    assert phone.get(reverse("dashboard")).status_code == 302
    [row] = UserSession.objects.filter(user=lecturer)
    assert row.session_key == laptop.session.session_key


def _key_moved(user, browser_client, rf):
    """A request of `browser_client`'s session whose key is cycled (a password change) and
    followed; the request and the old key."""
    request = rf.post("/", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.1.1.1")
    request.user, request.session = user, browser_client.session
    old_key = request.session.session_key
    request.session.cycle_key()
    follow_session_key(request=request, old_key=old_key)
    return request, old_key


def test_a_session_whose_key_moves_takes_its_row_along(lecturer, rf):
    laptop = browser(FIREFOX, "10.1.1.1")
    request, old_key = _key_moved(lecturer, laptop, rf)
    [row] = UserSession.objects.all()
    assert row.session_key == request.session.session_key != old_key


def test_a_session_whose_key_moves_with_no_row_to_move_gets_one(lecturer, rf):
    # Its row went meanwhile: another tab's password change moved it under another key.
    laptop = browser(FIREFOX, "10.1.1.1")
    UserSession.objects.all().delete()
    request, _old_key = _key_moved(lecturer, laptop, rf)
    [row] = UserSession.objects.all()
    assert (row.session_key, row.user, row.ip_address) == (
        request.session.session_key,
        lecturer,
        "10.1.1.1",
    )
    assert describe_browser(row.user_agent) == "Firefox on Linux"


def test_an_admin_ends_every_session_of_a_user(lecturer, staff_user):
    phone = browser(IPHONE, "10.2.2.2")
    staff_user.is_superuser = True
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    admin.post(
        reverse("admin:auth_user_changelist"),
        {"action": "end_sessions", "_selected_action": [lecturer.pk]},
    )
    assert phone.get(reverse("dashboard")).status_code == 302
    assert not UserSession.objects.filter(user=lecturer).exists()


def _usersession_writes(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith(("UPDATE", "INSERT")) and "accounts_usersession" in q["sql"]
    )


def test_last_active_is_written_at_most_once_per_interval(lecturer, django_assert_num_queries):
    client = browser(FIREFOX, "10.1.1.1")
    home = reverse("accounts:home")
    with CaptureQueriesContext(connection) as first:
        client.get(home)
    baseline = len(first.captured_queries)
    assert _usersession_writes(first.captured_queries) == 0
    # Within the interval every request costs the same and writes nothing.
    for _ in range(10):
        with django_assert_num_queries(baseline):
            client.get(home)
    # Once the interval has passed, the next request writes once, and the one after does not.
    session = client.session
    session[ACTIVITY_KEY] = int(time.time()) - 301
    session.save()
    with CaptureQueriesContext(connection) as due:
        client.get(home)
    assert _usersession_writes(due.captured_queries) == 1
    assert UserSession.objects.get().last_active_at.timestamp() > time.time() - 5
    with django_assert_num_queries(baseline):
        client.get(home)


def test_the_status_poll_is_not_activity_and_never_extends_the_session(lecturer):
    client = browser(FIREFOX, "10.1.1.1")
    key = client.session.session_key
    expire = Session.objects.get(session_key=key).expire_date
    session = client.session
    session[ACTIVITY_KEY] = 0
    session.save()
    expire = Session.objects.get(session_key=key).expire_date
    response = client.get(reverse("accounts:session-status"))
    body = response.json()
    assert body["signed_in"] and body["expires"] == int(expire.timestamp())
    assert "sessionid" not in response.cookies
    assert Session.objects.get(session_key=key).expire_date == expire


def test_the_status_poll_says_signed_out_once_the_session_is_gone(client):
    assert client.get(reverse("accounts:session-status")).json()["signed_in"] is False


def test_stay_signed_in_saves_the_session_with_a_fresh_expiry(lecturer, settings):
    client = browser(FIREFOX, "10.1.1.1")
    key = client.session.session_key
    # Ten minutes left, as when the banner shows.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=10)
    )
    before = Session.objects.get(session_key=key).expire_date
    response = client.post(reverse("accounts:session-extend"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    expires = json.loads(response["HX-Trigger"])["session-extended"]["expires"]
    after = Session.objects.get(session_key=key).expire_date
    assert after > before
    assert abs(expires - after.timestamp()) <= 2


def test_stay_signed_in_without_javascript_goes_back_to_the_page(lecturer):
    client = browser(FIREFOX, "10.1.1.1")
    response = client.post(reverse("accounts:session-extend"), {"next": "/sessions/"})
    assert response.status_code == 302 and response.url == "/sessions/"
    away = client.post(reverse("accounts:session-extend"), {"next": "https://evil.example/"})
    assert away.url == "/"
    # A bare word is no path: redirect() took it for a URL pattern's name (a 500).
    for word in ("abc", "0", "2026-01-01", "//evil.example/"):
        response = client.post(reverse("accounts:session-extend"), {"next": word})
        assert (response.status_code, response.url) == (302, "/"), word


def test_pages_carry_the_expiry_for_the_banner(lecturer, settings):
    client = browser(FIREFOX, "10.1.1.1")
    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="session-banner"' in html and 'data-warn="300"' in html
    expires = int(html.split('data-expires="', 1)[1].split('"', 1)[0])
    key = client.session.session_key
    assert abs(expires - Session.objects.get(session_key=key).expire_date.timestamp()) <= 2


def test_the_sweep_forgets_sessions_that_ended(lecturer):
    from accounts.sessions import sweep_job

    client = browser(FIREFOX, "10.1.1.1")
    Session.objects.filter(session_key=client.session.session_key).delete()
    assert sweep_job(now=timezone.now()) == {"web_sessions_forgotten": 1}
    assert not UserSession.objects.exists()


@pytest.mark.parametrize("path", ["/login/", "/api/courses/"])
def test_a_session_cookie_that_is_no_session_key_is_ignored(client, path, lecturer, course):
    # '"abc\000x"' is a quoted cookie holding a NUL: PostgreSQL refused it in the
    # session look-up, a 500 on every page, even for a request with an API token.
    from attendance.tokens import create_api_token

    _token, key = create_api_token(user=lecturer, name="t")
    response = client.get(
        path, HTTP_COOKIE='sessionid="abcdefgh\\000x"', HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200


def test_the_sweep_ends_sessions_that_ran_out_in_constant_queries(
    lecturer, django_assert_num_queries
):
    from accounts.sessions import sweep_job

    clients = [browser(FIREFOX, f"10.1.1.{n}") for n in range(1, 6)]
    keys = [client.session.session_key for client in clients]
    now = timezone.now()
    Session.objects.filter(session_key__in=keys[:3]).update(expire_date=now - timedelta(minutes=1))

    # the expired keys; per SWEEP_CHUNK of them their delete and their rows' earlier
    # keys (signed_out); then the tracking rows'
    with django_assert_num_queries(4):
        assert sweep_job(now=now) == {"web_sessions_expired": 3, "web_sessions_forgotten": 3}

    assert set(Session.objects.values_list("session_key", flat=True)) == set(keys[3:])
    assert set(UserSession.objects.values_list("session_key", flat=True)) == set(keys[3:])
    with django_assert_num_queries(2):
        assert sweep_job(now=now) == {}
