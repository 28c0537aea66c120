"""Join -> count -> end, end to end through the channel layer: in memory and on Redis."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from attendance.sessions import end_session
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

LAYERS = [pytest.param("memory", id="in-memory"), pytest.param("redis", marks=pytest.mark.redis)]


async def _watch(ws_app, api_key):
    communicator = await open_socket(ws_app, "/ws/events/", headers=(ORIGIN, HOST))
    await communicator.send_json_to({"type": "auth", "token": api_key})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    return communicator


@pytest.mark.parametrize("layer", LAYERS)
async def test_a_join_is_counted_and_the_end_reaches_everyone(
    layer, ws_app, api_key, session, device_and_token, course
):
    watcher = await _watch(ws_app, api_key)
    device = await open_device(ws_app, *device_and_token)
    await device.send_json_to({"type": "join", "code": session.join_code})
    assert (await device.receive_json_from(timeout=5))["type"] == "joined"

    counts = await watcher.receive_json_from(timeout=5)
    assert (counts["type"], counts["connected"], counts["checked_in"]) == ("session.counts", 1, 1)

    await database_sync_to_async(end_session)(session=session)
    assert await device.receive_json_from(timeout=5) == {
        "type": "session.ended",
        "session": session.pk,
        "status": "present",
    }
    assert await closed_with(device) == 4000
    ended = await next_event(watcher, "session.ended")
    assert (ended["type"], ended["present"], ended["absent"]) == ("session.ended", 1, 4)
    await watcher.disconnect()


@pytest.mark.redis
async def test_idle_sockets_on_the_redis_layer_still_get_events_after_a_quiet_spell(
    ws_app,
    api_key,
    session,
    device_and_token,
    make_students,
    course,
    cookie_for,
    lecturer,
    settings,
):
    from attendance.devices import register_device

    # The default 30 s code rotation would land during the wait and push a whole
    # card (with the old counts) ahead of the counts fragment this test reads.
    settings.ATTENDANCE_CODE_ROTATE_SECONDS = 0

    watcher = await _watch(ws_app, api_key)
    cookie = await database_sync_to_async(cookie_for)(lecturer)
    dashboard = await open_socket(ws_app, "/ws/dashboard/", headers=(ORIGIN, HOST, cookie))
    await dashboard.receive_from(timeout=5)
    device = await open_device(ws_app, *device_and_token)
    await device.send_json_to({"type": "join", "code": session.join_code})
    assert (await device.receive_json_from(timeout=5))["type"] == "joined"
    await watcher.receive_json_from(timeout=5)
    # The first join's counts (the name list may come before or after them).
    assert 'data-count="connected">1<' in await next_fragment(dashboard, '<dl class="counts"')

    # redis-py's 5 s default read timeout killed idle listeners; twice that, quiet.
    await asyncio.sleep(10)

    [late] = await database_sync_to_async(make_students)(1, course=course, prefix="L")
    other, token = await database_sync_to_async(register_device)(student=late, name="p")
    second = await open_device(ws_app, other, token)
    await second.send_json_to({"type": "join", "code": session.join_code})
    assert (await second.receive_json_from(timeout=5))["type"] == "joined"
    counts = await next_event(watcher, "session.counts")
    assert counts["connected"] == 2
    assert 'data-count="connected">2<' in await next_fragment(dashboard, '<dl class="counts"')

    await database_sync_to_async(end_session)(session=session)
    assert (await device.receive_json_from(timeout=5))["status"] == "present"
    assert await closed_with(device) == 4000
    await watcher.disconnect()
    await dashboard.disconnect()
    await second.disconnect()
