"""Lecturer sockets while the database is away: told to come back later (1013), never a
500 at the handshake, a 1011 crash or a 4401 that makes a client give up.

The database's failure is injected where the consumer meets it (an OperationalError
from the call that reads it); test_chaos.py stops a real PostgreSQL under servers.
"""

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError

from realtime import events as events_module
from realtime import snapshots
from realtime.events import EventsConsumer
from realtime.protocol import open_sockets
from realtime.tests.sockets import HOST, ORIGIN, closed_with, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def _away(*args, **kwargs):
    raise OperationalError("connection failed: the database system is shutting down")


async def _told_to_come_back(communicator) -> None:
    error = await communicator.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "unavailable")
    assert await closed_with(communicator) == 1013


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/events/"])
async def test_a_cookie_whose_user_cannot_be_read_is_told_to_come_back(
    ws_app, cookie_for, lecturer, monkeypatch, path
):
    cookie = await database_sync_to_async(cookie_for)(lecturer)
    monkeypatch.setattr("channels.auth.get_user", database_sync_to_async(_away))
    communicator = await open_socket(ws_app, path, headers=(ORIGIN, HOST, cookie))
    await _told_to_come_back(communicator)


async def test_a_token_the_database_cannot_check_is_told_to_come_back(ws_app, api_key, monkeypatch):
    monkeypatch.setattr(events_module, "authenticate_api_token", _away)
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": api_key})
    await _told_to_come_back(communicator)


async def test_a_token_still_being_checked_at_the_deadline_is_told_to_come_back(
    ws_app, api_key, monkeypatch
):
    def slow(token):
        import time

        time.sleep(0.5)
        return None

    monkeypatch.setattr(EventsConsumer, "auth_timeout", 0.1)
    monkeypatch.setattr(events_module, "authenticate_api_token", slow)
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": api_key})
    await _told_to_come_back(communicator)


async def test_a_snapshot_the_database_cannot_give_closes_1013_and_the_socket_is_let_go(
    ws_app, cookie_for, lecturer, session, monkeypatch
):
    cookie = await database_sync_to_async(cookie_for)(lecturer)
    monkeypatch.setattr(snapshots, "html_cards", _away)
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    await _told_to_come_back(communicator)
    # The server's side of the close, as daphne sends it: the consumer finishes cleanly.
    await communicator.send_input({"type": "websocket.disconnect", "code": 1013})
    await communicator.wait(timeout=5)
    assert len(open_sockets["dashboard"]) == 0


async def test_a_cookie_whose_user_lookup_hangs_is_told_to_come_back_within_the_handshake(
    ws_app, cookie_for, lecturer, monkeypatch
):
    """Daphne drops a handshake after 5 s; a lookup that hangs longer gives up first."""
    import time

    from realtime import routing

    cookie = await database_sync_to_async(cookie_for)(lecturer)

    def hangs(*args, **kwargs):
        time.sleep(1.0)

    monkeypatch.setattr(routing, "USER_LOOKUP_SECONDS", 0.2)
    monkeypatch.setattr("channels.auth.get_user", database_sync_to_async(hangs))
    communicator = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    await _told_to_come_back(communicator)
