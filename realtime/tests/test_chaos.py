"""Chaos on real servers: a process killed, the database stopped, the end racing the joins.

Each test prints its figures (time to recover, joins lost). Devices are the
simulator's protocol clients; what they do on a failure is what device.js does
(reconnect and resume with jitter, retry an "unavailable" join).
"""

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from attendance.devices import register_device
from attendance.models import AttendanceRecord, ConnectedDevice
from attendance.sessions import end_session, start_session
from config.settings import redis_channel_layer
from conftest import test_redis_url
from realtime.simulator import DeviceClient, DeviceCredentials, ProtocolError
from realtime.tests.faults import PrivatePostgres
from realtime.tests.servers import daphne, daphne_process

pytestmark = [pytest.mark.servers, pytest.mark.postgres]

WAIT = 30


def _credentials(made) -> list[DeviceCredentials]:
    return [
        DeviceCredentials(str(d.public_id), token, d.student.student_number) for d, token in made
    ]


async def _open_all(url: str, devices: list[DeviceCredentials]) -> list[DeviceClient]:
    gate = asyncio.Semaphore(50)

    async def one(creds):
        async with gate:
            return await DeviceClient.open(url, creds)

    return await asyncio.gather(*(one(c) for c in devices))


async def _close_all(clients) -> None:
    await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)


# --- kill -9 --------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_devices_of_a_killed_process_come_back_on_the_other_and_the_register_is_exact(
    tmp_path, make_students, course, lecturer, settings
):
    prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
    # This process ends the session and publishes it, on the same layer.
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(test_redis_url(), prefix=prefix)}
    env = {"REDIS_URL": test_redis_url(), "CHANNEL_LAYER_PREFIX": prefix}
    students = await database_sync_to_async(make_students)(210, course=course)
    made = await database_sync_to_async(
        lambda: [register_device(student=s, name="phone") for s in students[:200]]
    )()
    devices = _credentials(made)
    session, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)

    with contextlib.ExitStack() as stack:
        proc_a, port_a = stack.enter_context(daphne_process(workdir=tmp_path, extra_env=env))
        port_b = stack.enter_context(daphne(workdir=tmp_path, extra_env=env))
        url_a = f"ws://127.0.0.1:{port_a}/ws/device/"
        url_b = f"ws://127.0.0.1:{port_b}/ws/device/"
        clients = await _open_all(url_a, devices)
        replies = await asyncio.gather(*(c.join(code=session.join_code) for c in clients))
        assert {r["type"] for r in replies} == {"joined"}

        async def come_back(client: DeviceClient, creds: DeviceCredentials) -> float:
            # A's socket drops without a close frame; behind a load balancer the
            # device reaches B, and resumes its session (device.js does the same).
            with contextlib.suppress(ConnectionClosed):
                await client.ws.recv()
            attempt = 0
            while True:
                await asyncio.sleep(random.uniform(0, min(2.0, 0.25 * 2**attempt)))
                try:
                    again, reply = await DeviceClient.resume(url_b, creds, session.pk)
                except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, ProtocolError):
                    attempt += 1
                    continue
                assert reply["type"] == "joined", reply
                await again.ws.close()
                return time.monotonic()

        waiting = [
            asyncio.create_task(come_back(c, d)) for c, d in zip(clients, devices, strict=True)
        ]
        proc_a.kill()  # SIGKILL: no disconnect(), no close frame
        killed_at = time.monotonic()
        back_at = await asyncio.wait_for(asyncio.gather(*waiting), WAIT)

    recovered = max(back_at) - killed_at
    rows = await database_sync_to_async(
        lambda: ConnectedDevice.objects.filter(session=session).count()
    )()
    await database_sync_to_async(end_session)(session=session)
    statuses = await database_sync_to_async(
        lambda: dict(
            AttendanceRecord.objects.filter(session=session).values_list(
                "student__student_number", "status"
            )
        )
    )()
    print(
        f"\nkill -9 with 200 devices joined: all 200 back on the other process"
        f" {recovered:.2f} s after the kill; joins lost 0; presence rows {rows}"
    )
    assert rows == 200  # one row per device, ever
    assert len(statuses) == 210
    assert sorted(n for n, s in statuses.items() if s == "present") == sorted(
        d.student for d in devices
    )


# --- PostgreSQL stopped for 10 s ------------------------------------------------------------

SEED = """
import json
from django.contrib.auth import get_user_model
from attendance.devices import register_device
from attendance.models import Course, Enrollment, Student
from attendance.sessions import start_session
lecturer = get_user_model().objects.create_user("chaos-lecturer")
course = Course.objects.create(code="CHAOS1", title="Chaos")
course.lecturers.add(lecturer)
devices = []
for i in range(20):
    student = Student.objects.create(student_number=f"C{i:04d}", first_name="C", last_name=str(i))
    Enrollment.objects.create(course=course, student=student)
    device, token = register_device(student=student, name="phone")
    devices.append([str(device.public_id), token, student.student_number])
session, _ = start_session(course=course, by=lecturer)
print(json.dumps({"session": session.pk, "code": session.join_code, "devices": devices}))
"""


@pytest.fixture
def private_postgres():
    postgres = PrivatePostgres()
    try:
        postgres.init()
        postgres.start()
        postgres.create_database("chaos")
        yield postgres
    finally:
        postgres.remove()


def _manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


async def test_joins_while_the_database_is_stopped_are_told_to_retry_and_all_are_counted(
    private_postgres, tmp_path
):
    url = private_postgres.url("chaos")
    _manage(url, "migrate", "--noinput", "-v", "0")
    seeded = json.loads(_manage(url, "shell", "-c", SEED).strip().splitlines()[-1])
    devices = [DeviceCredentials(*d) for d in seeded["devices"]]
    env = {"DATABASE_URL": url, "DB_POOL_TIMEOUT": "2", "DB_POOL_MIN_SIZE": "1"}
    with daphne_process(workdir=tmp_path, extra_env=env) as (proc, port):
        device_url = f"ws://127.0.0.1:{port}/ws/device/"
        clients = await _open_all(device_url, devices)
        before = await asyncio.gather(*(c.join(code=seeded["code"]) for c in clients[:10]))
        assert {r["type"] for r in before} == {"joined"}

        await asyncio.to_thread(private_postgres.stop)
        stopped_at = time.monotonic()
        # Joins while it is away: a clear, retryable error, and the sockets stay open.
        during = await asyncio.gather(*(c.join(code=seeded["code"]) for c in clients[10:]))
        assert {(r["type"], r.get("code")) for r in during} == {("error", "unavailable")}

        async def keep_trying(client: DeviceClient) -> tuple[dict, int]:
            tries = 1
            reply = {"code": "unavailable"}
            while reply.get("code") == "unavailable":
                await asyncio.sleep(random.uniform(0.5, 1.5))
                reply = await client.join(code=seeded["code"], timeout=WAIT)
                tries += 1
            return reply, tries

        retrying = [asyncio.create_task(keep_trying(c)) for c in clients[10:]]
        await asyncio.sleep(max(0.0, stopped_at + 10 - time.monotonic()))
        await asyncio.to_thread(private_postgres.start)
        started_at = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*retrying), WAIT)
        recovered = time.monotonic() - started_at
        assert {r["type"] for r, _tries in results} == {"joined"}
        assert proc.poll() is None  # the same process, never restarted
        # The first ten, who joined before, were never dropped: a ping still answers.
        pongs = await asyncio.gather(*(c.request({"type": "ping"}, {"pong"}) for c in clients[:10]))
        assert {p["type"] for p in pongs} == {"pong"}
        await _close_all(clients)

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        counted = conn.execute(
            "SELECT count(*) FROM attendance_connecteddevice WHERE session_id = %s",
            [seeded["session"]],
        ).fetchone()[0]
    print(
        f"\nPostgreSQL stopped 10 s: {len(during)} joins answered 'unavailable' meanwhile;"
        f" all retried and joined {recovered:.2f} s after it was back"
        f" ({max(t for _r, t in results)} tries at most); counted {counted}/20; joins lost 0;"
        " no restart"
    )
    assert counted == 20
    log = next(tmp_path.glob("daphne-*.log")).read_text()
    assert "Traceback" not in log


# --- end_session racing 200 joins -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_end_racing_200_joins_counts_each_join_before_it_once_and_none_after(
    tmp_path, make_students, course, lecturer
):
    students = await database_sync_to_async(make_students)(200, course=course)
    made = await database_sync_to_async(
        lambda: [register_device(student=s, name="phone") for s in students]
    )()
    devices = _credentials(made)
    session, _ = await database_sync_to_async(start_session)(course=course, by=lecturer)
    with daphne_process(workdir=tmp_path) as (_proc, port):
        clients = await _open_all(f"ws://127.0.0.1:{port}/ws/device/", devices)
        go, halfway = asyncio.Event(), asyncio.Event()
        answered = 0

        async def join(client: DeviceClient, delay: float) -> dict:
            nonlocal answered
            await go.wait()
            await asyncio.sleep(delay)  # a class arriving over half a second
            try:
                reply = await client.join(code=session.join_code, timeout=WAIT)
            except ConnectionClosed:
                reply = {"type": "closed"}
            answered += 1
            if answered == 50:
                halfway.set()
            return reply

        def end_now() -> None:
            try:
                end_session(session=session, by=lecturer)
            finally:
                connection.close()  # this thread's own

        joins = [asyncio.create_task(join(c, i * 0.0025)) for i, c in enumerate(clients)]
        go.set()
        # The end lands while most joins are still on their way.
        await asyncio.wait_for(halfway.wait(), WAIT)
        await asyncio.to_thread(end_now)
        replies = await asyncio.wait_for(asyncio.gather(*joins), WAIT)
        await _close_all(clients)

    joined = {d.student for d, r in zip(devices, replies, strict=True) if r["type"] == "joined"}
    refused = [r for r in replies if r["type"] != "joined"]
    assert {(r["type"], r.get("code")) for r in refused} <= {
        ("error", "no_active_session"),
        ("session.ended", None),
    }
    statuses = await database_sync_to_async(
        lambda: list(
            AttendanceRecord.objects.filter(session=session).values_list(
                "student__student_number", "status"
            )
        )
    )()
    still_connected = await database_sync_to_async(
        lambda: ConnectedDevice.objects.filter(session=session, is_connected=True).count()
    )()
    print(
        f"\nend_session racing 200 joins: {len(joined)} joined before the end and are in the"
        f" register, {len(refused)} after it were refused; joins lost 0"
    )
    assert len(statuses) == 200  # one record per student, none twice
    present = {number for number, status in statuses if status in {"present", "late"}}
    assert present == joined
    assert still_connected == 0
