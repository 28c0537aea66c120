"""Redis restarts for 3 s in the middle of a class: the live path comes back by itself.

Two daphne processes on a private Redis (realtime/tests/faults.py): devices on
one, the lecturer's events socket on the other, so every count crosses Redis.
"""

import asyncio
import contextlib
import json
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from attendance.devices import register_device
from attendance.sessions import end_session
from config.settings import redis_channel_layer
from realtime.simulator import DeviceClient, DeviceCredentials
from realtime.tests.servers import daphne

pytestmark = [
    pytest.mark.servers,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

OUTAGE_SECONDS = 3
WAIT = 15  # seconds any one step may take before the test fails


@pytest.fixture
def devices(students, make_students, course):
    everyone = [*students, *make_students(15, course=course)]
    made = [register_device(student=s, name="phone") for s in everyone]
    return [
        DeviceCredentials(str(d.public_id), token, d.student.student_number) for d, token in made
    ]


class Watcher:
    """The lecturer's program: every event from /ws/events/, with when it arrived."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.events: list[tuple[float, dict]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            self.events.append((time.monotonic(), json.loads(raw)))
            self.arrived.set()

    async def wait_for(self, test, *, after: float = 0.0, timeout: float = WAIT):
        deadline = time.monotonic() + timeout
        while True:
            for at, event in self.events:
                if at >= after and test(event):
                    return at, event
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not seen in {timeout} s; last events: {self.events[-5:]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    def shown_at(self, session_id: int, count: int, *, after: float) -> float | None:
        """When the lecturer's screen first showed `count` checked in, at or after `after`."""
        shown = None
        for at, event in self.events:
            if event["type"] == "session.counts" and event["session"] == session_id:
                shown = event["checked_in"]
            elif event["type"] == "snapshot":
                for entry in event["sessions"]:
                    if entry["session"] == session_id:
                        shown = entry["checked_in"]
            if at >= after and shown == count:
                return at
        return None

    async def wait_until_shown(self, session_id: int, count: int, *, after: float) -> float:
        deadline = time.monotonic() + WAIT
        while (at := self.shown_at(session_id, count, after=after)) is None:
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{count} never shown; last events: {self.events[-5:]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return at


async def _join_all(url: str, creds: list[DeviceCredentials], code: str) -> list[DeviceClient]:
    clients = [await DeviceClient.open(url, c) for c in creds]
    replies = await asyncio.gather(*(c.join(code=code) for c in clients))
    assert [r["type"] for r in replies] == ["joined"] * len(clients), replies
    return clients


async def _next(phone: DeviceClient, kind: str) -> dict:
    while True:
        message = await phone.recv(WAIT)
        if message["type"] == kind:
            return message


async def test_counts_converge_and_the_end_arrives_after_a_redis_restart(
    private_redis, tmp_path, settings, session, devices, api_key
):
    prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
    # This process publishes the end of the session, on the same private Redis.
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(private_redis.url, prefix=prefix)}
    env = {"REDIS_URL": private_redis.url, "CHANNEL_LAYER_PREFIX": prefix}
    with contextlib.ExitStack() as stack:
        port_a, port_b = (
            stack.enter_context(daphne(workdir=tmp_path, extra_env=env)) for _ in "ab"
        )
        device_url = f"ws://127.0.0.1:{port_a}/ws/device/"
        async with connect(f"ws://127.0.0.1:{port_b}/ws/events/", origin="http://127.0.0.1") as ws:
            watcher = Watcher(ws)
            await ws.send(json.dumps({"type": "auth", "token": api_key}))
            await watcher.wait_for(lambda e: e["type"] == "snapshot")

            before = await _join_all(device_url, devices[:5], session.join_code)
            await watcher.wait_for(lambda e: e.get("checked_in") == 5)

            private_redis.stop()
            down_at = time.monotonic()
            # Joins go on while Redis is away: the database is the truth.
            during = await _join_all(device_url, devices[5:10], session.join_code)
            # The lecturer's screen is told it may be missing events.
            await watcher.wait_for(lambda e: e["type"] == "stale", after=down_at)
            await asyncio.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.monotonic()))
            private_redis.start()
            up_at = time.monotonic()

            after = await _join_all(device_url, devices[10:], session.join_code)
            # A fresh snapshot once the lecturer's process listens again, then the counts
            # converge on every join, before, during and after the outage.
            await watcher.wait_for(lambda e: e["type"] == "snapshot", after=up_at)
            converged_at = await watcher.wait_until_shown(session.pk, len(devices), after=up_at)
            print(
                f"\nRedis down {up_at - down_at:.1f} s; counts converged on {len(devices)}"
                f" {converged_at - up_at:.2f} s after it came back (goal <= 5 s); joins lost 0"
            )

            ended_at = time.monotonic()
            await database_sync_to_async(end_session)(session=session)
            _at, ended = await watcher.wait_for(
                lambda e: e["type"] == "session.ended", after=ended_at
            )
            assert (ended["present"], ended["absent"]) == (len(devices), 0)
            phones = [*before, *during, *after]
            finals = await asyncio.gather(*(_next(p, "session.ended") for p in phones))
            assert {f["status"] for f in finals} == {"present"}
            for phone in phones:
                await asyncio.wait_for(phone.ws.wait_closed(), WAIT)
                assert phone.ws.close_code == 4000
            watcher.task.cancel()
    logs = "".join(p.read_text() for p in tmp_path.glob("daphne-*.log"))
    assert "Traceback" not in logs
    assert "Channel layer reconnected to Redis" in logs
