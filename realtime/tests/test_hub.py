"""The device hub: one channel per process, each event to the sockets it names."""

import asyncio
import logging

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from realtime import broadcast
from realtime.hub import Hub, hub
from realtime.protocol import CLOSE_FORBIDDEN
from realtime.tests.sockets import closed_with, open_device


class Member:
    """Records the events a socket was handed."""

    def __init__(self, name: str, *, fails: bool = False) -> None:
        self.name, self.fails, self.heard = name, fails, []

    async def _record(self, event: dict) -> None:
        self.heard.append(event["type"])
        if self.fails:
            raise RuntimeError(f"{self.name} failed")

    session_ended = device_hello = device_revoked = layer_down = layer_up = _record


def subscribed(layer: InMemoryChannelLayer, group: str) -> set[str]:
    return set(layer.groups.get(group, {}))


async def test_one_channel_joins_each_group_once_however_many_sockets_are_in_it():
    layer = InMemoryChannelLayer()
    devices = Hub(layer)
    one, two = Member("one"), Member("two")
    group = broadcast.session_devices_group(7)

    await asyncio.gather(devices.join(group, one), devices.join(group, two))
    await devices.join(broadcast.device_group(1), one)

    assert subscribed(layer, group) == {devices.channel}
    assert subscribed(layer, broadcast.device_group(1)) == {devices.channel}
    assert len(layer.channels) <= 1  # the hub's one queue, once something was sent
    devices.stop()


async def test_the_group_is_left_when_its_last_socket_leaves():
    layer = InMemoryChannelLayer()
    devices = Hub(layer)
    one, two = Member("one"), Member("two")
    group = broadcast.session_devices_group(7)
    await devices.join(group, one)
    await devices.join(group, two)

    await devices.leave(group, one)
    assert subscribed(layer, group) == {devices.channel}
    await devices.leave(group, one)  # twice: nothing more happens
    await devices.leave(group, two)
    assert subscribed(layer, group) == set()
    assert group not in devices.members
    devices.stop()


async def test_each_event_reaches_only_the_sockets_of_the_group_it_names():
    layer = InMemoryChannelLayer()
    devices = Hub(layer)
    in_seven, in_eight, device_one = Member("seven"), Member("eight"), Member("device 1")
    await devices.join(broadcast.session_devices_group(7), in_seven)
    await devices.join(broadcast.session_devices_group(8), in_eight)
    await devices.join(broadcast.device_group(1), device_one)

    await layer.group_send(
        broadcast.session_devices_group(7), {"type": "session.ended", "session": 7}
    )
    await layer.group_send(broadcast.device_group(1), {"type": "device.revoked", "device": 1})
    await layer.group_send(
        broadcast.device_group(1), {"type": "device.hello", "device": 1, "channel": "x", "at": 1}
    )
    for _ in range(50):
        if len(device_one.heard) == 2:
            break
        await asyncio.sleep(0.01)

    assert in_seven.heard == ["session.ended"]
    assert in_eight.heard == []
    assert device_one.heard == ["device.revoked", "device.hello"]
    devices.stop()


async def test_layer_news_reaches_every_socket_once_and_one_failure_stops_no_other(caplog):
    devices = Hub(InMemoryChannelLayer())
    both, failing, other = Member("both"), Member("failing", fails=True), Member("other")
    await devices.join(broadcast.device_group(1), both)
    await devices.join(broadcast.session_devices_group(7), both)
    await devices.join(broadcast.device_group(2), failing)
    await devices.join(broadcast.device_group(3), other)

    with caplog.at_level(logging.ERROR, logger="rollcall.realtime"):
        await devices.dispatch({"type": "layer.up"})

    assert (both.heard, failing.heard, other.heard) == (["layer.up"], ["layer.up"], ["layer.up"])
    assert "A device socket failed to handle layer.up" in caplog.text
    devices.stop()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "lecturer.nonsense"},
        {"type": "session.ended"},  # no session
        {"type": "device.revoked", "device": "1"},  # not an id
    ],
)
async def test_an_event_it_cannot_place_is_dropped_and_logged(event, caplog):
    devices = Hub(InMemoryChannelLayer())
    member = Member("one")
    await devices.join(broadcast.device_group(1), member)
    await devices.join(broadcast.session_devices_group(1), member)

    with caplog.at_level(logging.WARNING, logger="rollcall.realtime"):
        await devices.dispatch(event)

    assert member.heard == []
    assert "dropped an event it cannot place" in caplog.text
    devices.stop()


async def test_a_loop_has_one_hub_per_layer():
    first_layer, second_layer = InMemoryChannelLayer(), InMemoryChannelLayer()
    assert hub(first_layer) is hub(first_layer)
    replaced = hub(first_layer)
    await replaced.start()
    assert hub(second_layer) is not replaced
    await asyncio.sleep(0)
    assert replaced._listener.cancelled()


@pytest.mark.django_db(transaction=True)
async def test_device_sockets_of_one_process_share_one_channel(ws_app, students, session):
    from channels.db import database_sync_to_async

    from attendance.devices import register_device, revoke_device

    registered = [
        await database_sync_to_async(register_device)(student=s, name="phone") for s in students[:3]
    ]
    sockets = [await open_device(ws_app, device, token) for device, token in registered]
    for socket in sockets:
        await socket.send_json_to({"type": "join", "code": session.join_code})
        assert (await socket.receive_json_from(timeout=5))["type"] == "joined"
    layer = get_channel_layer()
    channel = hub(layer).channel

    assert subscribed(layer, broadcast.session_devices_group(session.pk)) == {channel}
    for device, _token in registered:
        assert subscribed(layer, broadcast.device_group(device.pk)) == {channel}

    # A revocation closes that device's socket only.
    await database_sync_to_async(revoke_device)(device=registered[0][0])
    assert await closed_with(sockets[0]) == CLOSE_FORBIDDEN
    await sockets[1].send_json_to({"type": "ping"})
    assert (await sockets[1].receive_json_from(timeout=5))["type"] == "pong"

    for socket in sockets:  # the revoked one too: its close is answered
        await socket.disconnect()
    await asyncio.sleep(0.1)
    assert subscribed(layer, broadcast.session_devices_group(session.pk)) == set()
    assert all(
        subscribed(layer, broadcast.device_group(device.pk)) == set() for device, _ in registered
    )
