"""When the channel layer loses Redis and comes back, sockets stop trusting what they saw.

The layer (realtime/layer.py) puts "layer.down" and "layer.up" into its own
sockets' queues; here they are delivered through the in-memory layer's groups,
and the events published meanwhile are dropped, as Redis pub/sub drops them.
"""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from attendance import presence
from attendance.sessions import end_session
from realtime import broadcast
from realtime.tests.sockets import (
    HOST,
    ORIGIN,
    closed_with,
    next_event,
    next_fragment,
    open_device,
    open_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lost_publishes(monkeypatch):
    """Publishes vanish, as they do while a process's subscriber is cut off from Redis."""
    monkeypatch.setattr(broadcast, "_send_now", lambda *args, **kwargs: None)


async def test_the_events_socket_says_stale_then_sends_a_fresh_snapshot(
    ws_app, api_key, session, device_and_token, course, lost_publishes
):
    watcher = await open_socket(ws_app, "/ws/events/", headers=(HOST,))
    await watcher.send_json_to({"type": "auth", "token": api_key})
    await next_event(watcher, "snapshot")
    layer = get_channel_layer()

    await layer.group_send(broadcast.course_group(course.pk), {"type": "layer.down"})
    assert await watcher.receive_json_from(timeout=5) == {"type": "stale"}
    await database_sync_to_async(presence.join_by_code)(
        device=device_and_token[0], code=session.join_code
    )
    await layer.group_send(broadcast.course_group(course.pk), {"type": "layer.up"})
    snapshot = await next_event(watcher, "snapshot")
    assert [(s["session"], s["checked_in"]) for s in snapshot["sessions"]] == [(session.pk, 1)]
    await watcher.disconnect()


async def test_the_dashboard_shows_reconnecting_then_live_with_fresh_cards(
    ws_app, cookie_for, lecturer, session, course
):
    cookie = await database_sync_to_async(cookie_for)(lecturer)
    page = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    await next_fragment(page, '<div class="cards"')
    layer = get_channel_layer()

    await layer.group_send(broadcast.course_group(course.pk), {"type": "layer.down"})
    stale = await next_fragment(page, '<p class="live-indicator"')
    assert 'data-state="reconnecting"' in stale
    assert 'hx-swap-oob="true"' in stale
    await layer.group_send(broadcast.course_group(course.pk), {"type": "layer.up"})
    await next_fragment(page, '<div class="cards"')
    live = await next_fragment(page, '<p class="live-indicator"')
    assert 'data-state="live"' in live
    await page.disconnect()


async def test_a_device_that_missed_the_end_is_told_once_the_layer_is_back(
    ws_app, device_and_token, session, lost_publishes
):
    device, token = device_and_token
    phone = await open_device(ws_app, device, token)
    await phone.send_json_to({"type": "join", "code": session.join_code})
    assert (await phone.receive_json_from(timeout=5))["type"] == "joined"
    await database_sync_to_async(end_session)(session=session)

    await get_channel_layer().group_send(broadcast.device_group(device.pk), {"type": "layer.up"})
    assert await phone.receive_json_from(timeout=5) == {
        "type": "session.ended",
        "session": session.pk,
        "status": "present",
    }
    assert await closed_with(phone) == 4000


async def test_a_device_whose_session_still_runs_hears_nothing_when_the_layer_is_back(
    ws_app, device_and_token, session
):
    device, token = device_and_token
    phone = await open_device(ws_app, device, token)
    await phone.send_json_to({"type": "join", "code": session.join_code})
    assert (await phone.receive_json_from(timeout=5))["type"] == "joined"
    await get_channel_layer().group_send(broadcast.device_group(device.pk), {"type": "layer.up"})
    await phone.send_json_to({"type": "ping"})
    assert await phone.receive_json_from(timeout=5) == {"type": "pong"}
    await phone.disconnect()
