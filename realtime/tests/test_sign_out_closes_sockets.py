"""A web session's live sockets end with it: signing out here, from another browser
("sign out" on the sessions page, "sign out everywhere"), a password change elsewhere, the
session running out (at the next sweep), or the login made inactive closes the dashboard
and events sockets that session's cookie (or, for an inactive login, its API token) opened
(4401)."""

import asyncio
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import UserSession
from accounts.sessions import end_other_sessions, end_user_session
from realtime.tests.sockets import HOST, ORIGIN, closed_with, next_event, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(user) -> tuple[Client, tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return client, (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())


def _session_key(cookie: tuple[bytes, bytes]) -> str:
    return cookie[1].decode().split("=", 1)[1]


async def _dashboard(ws_app, cookie):
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    first = await communicator.receive_output(timeout=5)
    assert first["type"] == "websocket.send", first  # the snapshot: it is open and live
    return communicator


async def _two_browsers(ws_app, user) -> list:
    """Two browsers signed in as `user`, each with its dashboard open: (socket, session key)."""
    opened = []
    for _ in range(2):
        _client, cookie = await database_sync_to_async(_signed_in)(user)
        opened.append((await _dashboard(ws_app, cookie), _session_key(cookie)))
    return opened


async def test_signing_out_closes_that_browsers_dashboard_and_events_sockets(
    ws_app, lecturer, session
):
    client, cookie = await database_sync_to_async(_signed_in)(lecturer)
    dashboard = await _dashboard(ws_app, cookie)
    events = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST, cookie))
    await next_event(events, "snapshot")
    response = await database_sync_to_async(client.post)(reverse("logout"))
    assert response.status_code == 302
    assert await closed_with(dashboard) == 4401
    assert await closed_with(events) == 4401


async def test_a_session_ended_from_another_browser_closes_its_sockets_only(
    ws_app, lecturer, session
):
    (on_phone, phone_key), (on_laptop, laptop_key) = await _two_browsers(ws_app, lecturer)
    row = await database_sync_to_async(UserSession.objects.get)(session_key=phone_key)
    # From the laptop's sessions page: sign the phone out.
    assert await database_sync_to_async(end_user_session)(user=lecturer, session_id=row.pk)
    assert await closed_with(on_phone) == 4401
    assert await on_laptop.receive_nothing(timeout=0.5)
    # A password change on the laptop signs out every other session.
    _tablet, tablet_cookie = await database_sync_to_async(_signed_in)(lecturer)
    on_tablet = await _dashboard(ws_app, tablet_cookie)
    await database_sync_to_async(end_other_sessions)(user=lecturer, keep_session_key=laptop_key)
    assert await closed_with(on_tablet) == 4401
    assert await on_laptop.receive_nothing(timeout=0.5)
    await on_laptop.disconnect()


async def test_a_cookie_whose_session_ended_meanwhile_gets_no_live_socket(
    ws_app, lecturer, session, monkeypatch
):
    """Ended between the cookie's look-up and the socket's listening: published to nobody,
    so the socket looks the session up again once it listens."""
    from realtime import lecturer as lecturer_sockets

    _client, cookie = await database_sync_to_async(_signed_in)(lecturer)
    ended = []
    looked_up = lecturer_sockets._web_session_exists

    def ends_first(key: str) -> bool:
        # The session ends (unannounced, as if before the socket listened) just before
        # the socket looks again.
        ended.append(key)
        import_module(settings.SESSION_ENGINE).SessionStore().delete(key)
        return looked_up(key)

    monkeypatch.setattr(lecturer_sockets, "_web_session_exists", ends_first)
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    assert await closed_with(communicator) == 4401
    assert ended == [_session_key(cookie)]


def _change_form_data(html: str) -> dict:
    """What the admin's change page would post as it stands: its inputs, ticked boxes and
    selected options."""
    import re

    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        kind = kind.group(1) if kind else "text"
        if (kind in ("checkbox", "radio") and "checked" not in tag) or kind == "submit":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data.setdefault(name.group(1), []).append(
            value.group(1) if value else ("on" if kind == "checkbox" else "")
        )
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        for value in re.findall(r'<option value="([^"]*)"[^>]*selected', options):
            data.setdefault(name, []).append(value)
    return data


async def _cookie_and_token_sockets(ws_app, user, api_key) -> list:
    """A dashboard on `user`'s web session and an events socket on their API token."""
    _client, cookie = await database_sync_to_async(_signed_in)(user)
    dashboard = await _dashboard(ws_app, cookie)
    program = await open_socket(ws_app, "/ws/events/", headers=(HOST,))
    await program.send_json_to({"type": "auth", "token": api_key})
    await next_event(program, "snapshot")
    return [dashboard, program]


async def _all_closed_and_signed_out(sockets, user) -> None:
    for socket in sockets:
        assert await closed_with(socket) == 4401
    assert not await database_sync_to_async(UserSession.objects.filter(user=user).exists)()


async def test_deactivating_a_login_closes_its_cookie_and_token_sockets(
    ws_app, lecturer, session, api_key
):
    from django.contrib.auth import get_user_model

    sockets = await _cookie_and_token_sockets(ws_app, lecturer, api_key)

    def deactivate() -> int:
        admin = Client()
        admin.force_login(get_user_model().objects.create_superuser("root", password="pw"))
        change = reverse("admin:auth_user_change", args=[lecturer.pk])
        data = _change_form_data(admin.get(change).content.decode())
        data.pop("is_active")
        return admin.post(change, data).status_code

    assert await database_sync_to_async(deactivate)() == 302
    await _all_closed_and_signed_out(sockets, lecturer)


async def test_a_login_made_inactive_by_a_script_closes_its_sockets_too(
    ws_app, lecturer, session, api_key
):
    sockets = await _cookie_and_token_sockets(ws_app, lecturer, api_key)

    def deactivate() -> None:  # as a shell or a script would
        lecturer.is_active = False
        lecturer.save()

    await database_sync_to_async(deactivate)()
    await _all_closed_and_signed_out(sockets, lecturer)


def test_saves_that_leave_a_login_active_or_inactive_read_nothing_more(
    lecturer, django_assert_num_queries
):
    from django.contrib.auth import get_user_model

    lecturer.last_name = "Renamed"
    with django_assert_num_queries(1):  # the UPDATE alone
        lecturer.save()
    with django_assert_num_queries(1):
        lecturer.save(update_fields=["last_login"])
    # Already inactive, saved again: the check reads it was inactive, and nothing ends.
    get_user_model().objects.filter(pk=lecturer.pk).update(is_active=False)
    lecturer.is_active = False
    with django_assert_num_queries(2):  # the check and the UPDATE
        lecturer.save()
    assert lecturer._rollcall_deactivating is False


async def _password_session_with_dashboard(ws_app, user):
    """`user` with a password, signed in: (their browser, a dashboard open in another tab)."""

    def signed_in_with_password():
        user.set_password("an-old-long-password-1")
        user.save()
        return _signed_in(user)

    client, cookie = await database_sync_to_async(signed_in_with_password)()
    return client, await _dashboard(ws_app, cookie)


def _change_password(client) -> bool:
    """Change the password in `client`'s browser; whether its session key changed."""
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": "an-old-long-password-1",
            "new_password1": "a-new-long-password-2",
            "new_password2": "a-new-long-password-2",
        },
    )
    assert response.status_code == 302, response
    return client.cookies[settings.SESSION_COOKIE_NAME].value != old_key


async def test_a_socket_follows_its_session_to_a_new_key_and_closes_when_that_ends(
    ws_app, lecturer, session
):
    """A password change in one tab gives the web session a new key; the dashboard open in
    another tab keeps listening for that session, and closes when it is signed out."""

    client, other_tab = await _password_session_with_dashboard(ws_app, lecturer)
    assert await database_sync_to_async(_change_password)(client)  # the key changed
    # The move reaches the other tab's socket through the channel layer; a sign-out
    # published before it joined the new key's group would pass it by.
    await asyncio.sleep(0.5)
    signed_out = await database_sync_to_async(client.post)(reverse("logout"))
    assert signed_out.status_code == 302
    assert await closed_with(other_tab) == 4401


async def test_a_session_that_runs_out_closes_its_sockets_at_the_next_sweep(
    ws_app, lecturer, session
):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.sessions import sweep_job

    (running_out, old_key), (staying, _new_key) = await _two_browsers(ws_app, lecturer)
    now = timezone.now()
    await database_sync_to_async(Session.objects.filter(session_key=old_key).update)(
        expire_date=now - timedelta(seconds=1)
    )
    assert await running_out.receive_nothing(timeout=0.3)  # nothing tells it until the sweep

    swept = await database_sync_to_async(sweep_job)(now=now)

    assert swept == {"web_sessions_expired": 1, "web_sessions_forgotten": 1}
    assert await closed_with(running_out) == 4401
    assert await staying.receive_nothing(timeout=0.5)
    assert not await database_sync_to_async(
        UserSession.objects.filter(session_key=old_key).exists
    )()
    await staying.disconnect()


async def test_a_sign_out_before_the_move_reaches_a_socket_still_closes_it(
    ws_app, lecturer, session, monkeypatch
):
    """The other tab's socket has not followed the session to its new key yet (the move
    is on its way) when that session signs out: the sign-out reaches it under the old key."""
    from realtime.lecturer import LecturerSocket

    moves = []

    async def not_there_yet(self, event):
        moves.append(event["group"])

    monkeypatch.setattr(LecturerSocket, "web_session_moved", not_there_yet)

    client, other_tab = await _password_session_with_dashboard(ws_app, lecturer)
    assert await database_sync_to_async(_change_password)(client)
    signed_out = await database_sync_to_async(client.post)(reverse("logout"))

    assert signed_out.status_code == 302
    assert await closed_with(other_tab) == 4401
    assert len(moves) == 1  # the move was published, and this socket had not taken it
