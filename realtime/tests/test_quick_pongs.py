"""A real daphne answers heartbeats in its frame layer (realtime/daphne.py, quick replies).

The device consumer hands the frame layer a quick reply once the device said
hello: a ping, spelt as browsers or Python spell it, is answered with a pong
there, and its write (at most one an interval) goes to the heartbeat batch in
the background. These tests hold that path to the protocol: replies in the
order of the frames, the flood limit, a write that never lands after a leave,
and a revocation the write finds out.
"""

import asyncio
import contextlib
import json

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from attendance.models import ConnectedDevice, Device
from realtime.protocol import CLOSE_FORBIDDEN, CLOSE_RATE_LIMITED, JsonSocket
from realtime.tests.servers import daphne, test_database_url

pytestmark = [pytest.mark.servers, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 10
BROWSER_PING = '{"type":"ping"}'
PYTHON_PING = '{"type": "ping"}'


async def _hello(ws, device, token) -> None:
    await ws.send(json.dumps({"type": "hello", "device": str(device.public_id), "token": token}))
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "welcome"


async def _next(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


def _row(device) -> ConnectedDevice:
    return ConnectedDevice.objects.get(device=device)


async def _until_seen_after(device, moment) -> ConnectedDevice:
    """The device's row once a heartbeat written after `moment` reached it (or the last read)."""
    for _ in range(50):
        row = await database_sync_to_async(_row)(device)
        if row.last_seen_at > moment:
            break
        await asyncio.sleep(0.1)
    return row


@contextlib.asynccontextmanager
async def _joined(tmp_path, session, device, token):
    """A device socket on a daphne with a 1 s heartbeat, said hello and joined `session`."""
    with daphne(workdir=tmp_path, extra_env={"ATTENDANCE_HEARTBEAT_SECONDS": "1"}) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws/device/") as ws:
            await _hello(ws, device, token)
            await ws.send(json.dumps({"type": "join", "code": session.join_code}))
            assert (await _next(ws))["type"] == "joined"
            yield ws


async def test_pings_in_both_spellings_get_pongs_and_write_once_an_interval(
    tmp_path, session, device_and_token
):
    device, token = device_and_token
    async with _joined(tmp_path, session, device, token) as ws:
        joined = await database_sync_to_async(_row)(device)
        for ping in (BROWSER_PING, PYTHON_PING, '{ "type" : "ping" }'):
            await ws.send(ping)
            assert await _next(ws) == {"type": "pong"}
        # Within the interval of the join's write: nothing written.
        assert (await database_sync_to_async(_row)(device)).last_seen_at == joined.last_seen_at

        await asyncio.sleep(1.1)
        await ws.send(BROWSER_PING)
        assert await _next(ws) == {"type": "pong"}
        row = await _until_seen_after(device, joined.last_seen_at)
        assert row.last_seen_at > joined.last_seen_at and row.is_connected


async def test_a_ping_behind_a_join_is_answered_after_it(tmp_path, session, device_and_token):
    device, token = device_and_token
    with daphne(workdir=tmp_path) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws/device/") as ws:
            await _hello(ws, device, token)
            # The join waits for a lock another connection holds; the ping, read
            # alone while the join waits, must not overtake it.
            with psycopg.connect(test_database_url()) as blocker:
                blocker.execute(f"LOCK TABLE {ConnectedDevice._meta.db_table} IN EXCLUSIVE MODE")
                await ws.send(json.dumps({"type": "join", "code": session.join_code}))
                await asyncio.sleep(0.3)
                await ws.send(BROWSER_PING)
                await asyncio.sleep(0.3)
            assert [(await _next(ws))["type"] for _ in range(2)] == ["joined", "pong"]


async def test_quick_pings_count_towards_the_flood_limit(tmp_path, device_and_token):
    device, token = device_and_token
    with daphne(workdir=tmp_path) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws/device/") as ws:
            await _hello(ws, device, token)  # the window's first frame
            pongs = 0
            with pytest.raises(ConnectionClosed):
                for _ in range(JsonSocket.flood_limit + 5):
                    # One at a time, so that each is read alone (the frame layer's way).
                    await ws.send(BROWSER_PING)
                    assert await _next(ws) == {"type": "pong"}
                    pongs += 1
    assert pongs == JsonSocket.flood_limit - 1
    assert ws.close_code == CLOSE_RATE_LIMITED


async def test_a_heartbeat_written_in_the_background_never_lands_after_a_leave(
    tmp_path, session, device_and_token
):
    device, token = device_and_token
    async with _joined(tmp_path, session, device, token) as ws:
        await asyncio.sleep(1.1)
        # Due: its write waits half a second for company; the leave comes first.
        await ws.send(BROWSER_PING)
        assert await _next(ws) == {"type": "pong"}
        await ws.send(json.dumps({"type": "leave"}))
        assert await _next(ws) == {"type": "left"}
        await asyncio.sleep(1.0)  # past the heartbeat batch's linger
        row = await database_sync_to_async(_row)(device)
        assert not row.is_connected and row.disconnected_at is not None


async def test_a_revocation_only_the_database_knows_closes_after_the_pong(
    tmp_path, session, device_and_token
):
    device, token = device_and_token
    async with _joined(tmp_path, session, device, token) as ws:
        # Revoked by a process whose push never arrived.
        await database_sync_to_async(Device.objects.filter(pk=device.pk).update)(
            is_active=False, slot=None, revoked_at=timezone.now()
        )
        await asyncio.sleep(1.1)
        await ws.send(BROWSER_PING)
        assert await _next(ws) == {"type": "pong"}
        await asyncio.wait_for(ws.wait_closed(), WAIT)
    assert ws.close_code == CLOSE_FORBIDDEN
