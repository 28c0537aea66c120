"""Origin rules: the dashboard needs an allowed Origin; device and events sockets may have none.

A refused Origin closes the socket with 4403 before the application sees it.
"""

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


async def _refused_with(app, path, headers) -> int:
    """The close code of a socket refused for its Origin, which sent nothing first."""
    communicator = WebsocketCommunicator(app, path, headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected
    code = await closed_with(communicator)
    assert await communicator.receive_nothing(timeout=0.2)
    return code


@pytest.mark.parametrize("path", ["/ws/device/", "/ws/dashboard/", "/ws/events/"])
async def test_it_closes_a_foreign_origin_with_4403(ws_app, path):
    assert await _refused_with(ws_app, path, [FOREIGN, HOST]) == 4403


@pytest.mark.parametrize(
    "origin",
    [b"http://[", b"http://[::1", b"null", b"", b"127.0.0.1", b"http://127.0.0.1.evil"],
)
@pytest.mark.parametrize("path", ["/ws/device/", "/ws/dashboard/", "/ws/events/"])
async def test_an_unreadable_or_opaque_origin_is_refused_not_a_crash(ws_app, path, origin):
    assert await _refused_with(ws_app, path, [(b"origin", origin), HOST]) == 4403


async def test_the_last_origin_header_is_the_one_checked(ws_app):
    assert await _refused_with(ws_app, "/ws/dashboard/", [ORIGIN, FOREIGN, HOST]) == 4403
    assert await _handshake(ws_app, "/ws/dashboard/", [FOREIGN, ORIGIN, HOST])


async def test_a_foreign_origin_with_a_valid_device_token_never_says_hello(
    ws_app, device_and_token
):
    communicator = WebsocketCommunicator(ws_app, "/ws/device/", headers=[FOREIGN, HOST])
    await communicator.connect()
    assert await closed_with(communicator) == 4403
    device, token = device_and_token
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token}
    )
    assert await communicator.receive_nothing(timeout=0.2)


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
    assert await _refused_with(ws_app, "/ws/dashboard/", [HOST]) == 4403


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
