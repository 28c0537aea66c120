"""Two daphne processes sharing one Redis: a device on one, a lecturer's program on the other."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import connect

from attendance.sessions import end_session
from config.settings import redis_channel_layer
from conftest import test_redis_url

pytestmark = [
    pytest.mark.servers,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def _wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"daphne on {port} exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"daphne on {port} did not start:\n{log.read_text()}")


@pytest.fixture
def servers(tmp_path, settings):
    """Two daphne processes on free ports, on the test database and a prefix of their own."""
    prefix = f"rollcall-test-{uuid.uuid4().hex[:12]}"
    # This process publishes too (end_session below), on the same layer.
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(test_redis_url(), prefix=prefix)}
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": test_redis_url(),
        "CHANNEL_LAYER_PREFIX": prefix,
        "ATTENDANCE_IN_PROCESS_SWEEP": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_DIR": str(tmp_path),
        "DEBUG": "1",
    }
    started = []
    for _ in range(2):
        port = _free_port()
        log = tmp_path / f"daphne-{port}.log"
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        process = subprocess.Popen(
            [*command, "config.asgi:application"],
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        started.append((port, process, log))
    try:
        for port, process, log in started:
            _wait_until_serving(port, process, log)
        yield [port for port, _, _ in started], [log for _, _, log in started]
    finally:
        for _, process, _ in started:
            process.terminate()
        for _, process, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
