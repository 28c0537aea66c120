"""Origin rules: the dashboard needs an allowed Origin; device and events sockets may have none."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from realtime.tests.sockets import HOST, ORIGIN, closed_with, hello

pytestmark = pytest.mark.django_db(transaction=True)

FOREIGN = (b"origin", b"http://evil.example")


async def _handshake(app, path, headers) -> bool:
    communicator = WebsocketCommunicator(app, path, headers=list(headers))
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize("path", ["/ws/device/", "/ws/dashboard/", "/ws/events/"])
async def test_it_rejects_foreign_origin(ws_app, path):
    assert not await _handshake(ws_app, path, [FOREIGN, HOST])


@pytest.mark.parametrize("path", ["/ws/device/", "/ws/dashboard/", "/ws/events/"])
async def test_it_accepts_an_allowed_origin(ws_app, path):
    assert await _handshake(ws_app, path, [ORIGIN, HOST])


async def test_the_device_socket_accepts_no_origin(ws_app, device_and_token):
    communicator = WebsocketCommunicator(ws_app, "/ws/device/", headers=[HOST])
    connected, _ = await communicator.connect()
    assert connected
    assert (await hello(communicator, *device_and_token))["type"] == "welcome"
    await communicator.disconnect()


async def test_the_dashboard_refuses_a_missing_origin(ws_app):
    assert not await _handshake(ws_app, "/ws/dashboard/", [HOST])


async def test_the_events_socket_takes_a_program_without_origin_by_token(ws_app, api_key, session):
    communicator = WebsocketCommunicator(ws_app, "/ws/events/", headers=[HOST])
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "auth", "token": api_key})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    await communicator.disconnect()


async def test_without_origin_the_cookie_alone_does_not_authenticate(
    ws_app, lecturer, cookie_for, session
):
    headers = [HOST, await database_sync_to_async(cookie_for)(lecturer)]
    communicator = WebsocketCommunicator(ws_app, "/ws/events/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == 4401


async def test_an_unknown_path_is_refused_at_the_handshake(ws_app):
    assert not await _handshake(ws_app, "/ws/nothing/", [ORIGIN, HOST])
