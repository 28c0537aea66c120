"""Two daphne processes sharing one Redis: a device on one, a lecturer's program on the other."""

import asyncio
import contextlib
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from attendance.sessions import end_session
from config.settings import redis_channel_layer
from conftest import test_redis_url
from realtime.tests.servers import daphne

pytestmark = [
    pytest.mark.servers,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def servers(tmp_path, settings):
    """Two daphne processes on free ports, on the test database and a prefix of their own."""
    prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
    # This process publishes too (end_session below), on the same layer.
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(test_redis_url(), prefix=prefix)}
    env = {"REDIS_URL": test_redis_url(), "CHANNEL_LAYER_PREFIX": prefix}
    with contextlib.ExitStack() as stack:
        ports = [stack.enter_context(daphne(workdir=tmp_path, extra_env=env)) for _ in range(2)]
        yield ports, [tmp_path / f"daphne-{port}.log" for port in ports]


async def _next(ws, kind: str) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if event["type"] == kind:
            return event


async def test_counts_and_the_end_cross_from_one_server_to_the_other(
    servers, session, device_and_token, api_key, course
):
    (device_port, lecturer_port), logs = servers
    device, token = device_and_token
    async with (
        connect(f"ws://127.0.0.1:{lecturer_port}/ws/events/", origin="http://127.0.0.1") as watcher,
        connect(f"ws://127.0.0.1:{device_port}/ws/device/") as phone,
    ):
        await watcher.send(json.dumps({"type": "auth", "token": api_key}))
        snapshot = await _next(watcher, "snapshot")
        assert [s["connected"] for s in snapshot["sessions"]] == [0]

        await phone.send(
            json.dumps({"type": "hello", "device": str(device.public_id), "token": token})
        )
        assert (await _next(phone, "welcome"))["student"] == device.student.student_number
        await phone.send(json.dumps({"type": "join", "code": session.join_code}))
        assert (await _next(phone, "joined"))["session"] == session.pk

        counts = await _next(watcher, "session.counts")
        assert (counts["session"], counts["connected"], counts["checked_in"]) == (session.pk, 1, 1)

        await database_sync_to_async(end_session)(session=session)
        assert await _next(phone, "session.ended") == {
            "type": "session.ended",
            "session": session.pk,
            "status": "present",
        }
        await asyncio.wait_for(phone.wait_closed(), timeout=10)
        assert phone.close_code == 4000
        ended = await _next(watcher, "session.ended")
        assert (ended["session"], ended["present"], ended["absent"]) == (session.pk, 1, 4)
    for log in logs:
        assert "Traceback" not in log.read_text()
