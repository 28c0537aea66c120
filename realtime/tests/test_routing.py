"""Origin rules: cookie sockets need an allowed Origin; the device socket may have none."""

import pytest
from channels.testing import WebsocketCommunicator

from realtime.tests.sockets import HOST, ORIGIN, hello

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


@pytest.mark.parametrize("path", ["/ws/dashboard/", "/ws/events/"])
async def test_cookie_sockets_refuse_a_missing_origin(ws_app, path):
    assert not await _handshake(ws_app, path, [HOST])


async def test_an_unknown_path_is_refused_at_the_handshake(ws_app):
    assert not await _handshake(ws_app, "/ws/nothing/", [ORIGIN, HOST])
