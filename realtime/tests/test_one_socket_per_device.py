"""A device token is bound to one live socket: a newer hello closes the older socket (4409)."""

import pytest
from channels.db import database_sync_to_async

from attendance.models import ConnectedDevice
from realtime.tests.sockets import closed_with, open_device

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_second_hello_with_the_same_token_closes_the_first_socket_with_4409(
    ws_app, device_and_token, session
):
    device, token = device_and_token
    first = await open_device(ws_app, device, token)
    await first.send_json_to({"type": "join", "code": session.join_code})
    assert (await first.receive_json_from(timeout=5))["type"] == "joined"

    second = await open_device(ws_app, device, token)
    assert await closed_with(first) == 4409

    # The newer socket carries on, and the device stays counted in its session.
    await second.send_json_to({"type": "join", "session": session.pk})
    assert (await second.receive_json_from(timeout=5))["type"] == "joined"
    await second.send_json_to({"type": "ping"})
    assert (await second.receive_json_from(timeout=5))["type"] == "pong"
    row = await database_sync_to_async(ConnectedDevice.objects.get)(device=device)
    assert row.is_connected
    await second.disconnect()


async def test_another_devices_hello_leaves_a_socket_alone(ws_app, students, session):
    from attendance.devices import register_device

    (one, one_token), (other, other_token) = [
        await database_sync_to_async(register_device)(student=s, name="phone") for s in students[:2]
    ]
    first = await open_device(ws_app, one, one_token)
    second = await open_device(ws_app, other, other_token)
    await first.send_json_to({"type": "ping"})
    assert (await first.receive_json_from(timeout=5))["type"] == "pong"
    await first.disconnect()
    await second.disconnect()
