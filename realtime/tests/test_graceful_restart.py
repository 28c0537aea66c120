"""SIGTERM to a real daphne: sockets close with 1012, work in flight finishes, devices stay."""

import asyncio
import json
import signal
import time

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from attendance.devices import register_device
from attendance.models import ConnectedDevice
from realtime.simulator import DeviceClient, DeviceCredentials
from realtime.tests.servers import daphne_process

pytestmark = [pytest.mark.servers, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 15


@pytest.fixture
def devices(students):
    made = [register_device(student=s, name="phone") for s in students]
    return [
        DeviceCredentials(str(d.public_id), token, d.student.student_number) for d, token in made
    ]


async def _until(ws, kind: str) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if event["type"] == kind:
            return event


async def test_sigterm_closes_every_socket_with_1012_and_keeps_the_devices_counted(
    tmp_path, session, devices, api_key
):
    with daphne_process(workdir=tmp_path) as (proc, port):
        url = f"ws://127.0.0.1:{port}/ws/device/"
        async with connect(f"ws://127.0.0.1:{port}/ws/events/", origin="http://127.0.0.1") as lw:
            await lw.send(json.dumps({"type": "auth", "token": api_key}))
            await _until(lw, "snapshot")
            phones = [await DeviceClient.open(url, c) for c in devices]
            joined = phones[:-1]
            for phone in joined:
                assert (await phone.join(code=session.join_code))["type"] == "joined"
            # The last one's join is in flight when the signal comes: it is written
            # and answered before the socket closes, or not read at all; never half.
            late = phones[-1]
            await late.send({"type": "join", "code": session.join_code})
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            replies = []
            with pytest.raises(Exception) as closed:
                while True:
                    replies.append(await late.recv(WAIT))
            assert late.ws.close_code == 1012, closed.value
            for phone in joined:
                await asyncio.wait_for(phone.ws.wait_closed(), WAIT)
                assert phone.ws.close_code == 1012
            await asyncio.wait_for(lw.wait_closed(), WAIT)
            assert lw.close_code == 1012
            closed_after = time.monotonic() - signalled
        assert proc.wait(WAIT) == 0
        exited_after = time.monotonic() - signalled

    rows = await database_sync_to_async(
        lambda: set(
            ConnectedDevice.objects.filter(session=session, is_connected=True).values_list(
                "device__public_id", flat=True
            )
        )
    )()
    late_joined = any(r.get("type") == "joined" for r in replies)
    expected = {c.device for c in devices[: len(joined)]}
    if late_joined:
        expected.add(devices[-1].device)
    assert {str(r) for r in rows} == expected
    log = next(tmp_path.glob("daphne-*.log")).read_text()
    assert "Traceback" not in log
    print(
        f"\nSIGTERM: {len(phones) + 1} sockets closed with 1012 after {closed_after:.2f} s,"
        f" process exited after {exited_after:.2f} s; the in-flight join was"
        f" {'answered' if late_joined else 'not yet read'}; {len(rows)} devices still counted"
    )
