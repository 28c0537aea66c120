import asyncio
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from websockets.asyncio.server import serve

from attendance.models import ConnectedDevice, Device
from attendance.sessions import start_session
from realtime.simulator import (
    SIMULATOR_DEVICE_NAME,
    DeviceCredentials,
    SwarmStats,
    run_swarm,
    simulated_students,
)
from realtime.tests.servers import daphne, free_port


def _simulate(*args: str) -> str:
    out = StringIO()
    call_command("simulate_devices", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def server(transactional_db, tmp_path):
    with daphne(workdir=tmp_path) as port:
        yield f"ws://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--code", "12345"], "exactly 6 digits"),
        (["--count", "3"], "Give --code"),
        (["--url", "http://127.0.0.1:1", "--code", "123456"], "not a WebSocket URL"),
        (["--course", "NOPE101"], "no such course"),
        (["--course", "MATH101", "--count", "6"], "has only 5 active enrolled students"),
        (["--course", "MATH101", "--count", "0"], "use 1 to"),
        (["--course", "MATH101", "--heartbeat", "0"], "--heartbeat must be more than 0"),
        (["--course", "MATH101", "--heartbeat", "nan"], "--heartbeat must be more than 0"),
        (["--course", "MATH101", "--duration", "inf"], "--duration must be more than 0"),
    ],
)
@pytest.mark.django_db
def test_it_rejects_bad_arguments_with_exit_code_2(args, message, students, lecturer, course):
    start_session(course=course, by=lecturer)
    with pytest.raises(CommandError, match=message) as caught:
        _simulate(*args)
    assert caught.value.returncode == 2
    assert Device.objects.count() == 0


@pytest.mark.django_db
def test_students_with_their_own_login_are_simulated_last(course, students, student_user):
    order = [s.student_number for s in simulated_students(course=course)]
    assert order == ["S00001", "S00002", "S00003", "S00004", "S00000"]


@pytest.mark.django_db
def test_it_explains_a_course_without_a_session(students, course):
    with pytest.raises(CommandError, match="no active session"):
        _simulate("--course", "MATH101", "--count", "2")
    assert Device.objects.count() == 0


@pytest.mark.django_db
def test_it_explains_an_unreachable_server(students, lecturer, course, tmp_path):
    session, _ = start_session(course=course, by=lecturer)
    url = f"ws://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="Is the server running"):
        _simulate(
            "--url",
            url,
            "--code",
            session.join_code,
            "--count",
            "2",
            "--state",
            str(tmp_path / "s.json"),
        )
    assert ConnectedDevice.objects.count() == 0


@pytest.mark.servers
@pytest.mark.postgres
def test_five_devices_join_and_are_reused_next_time(server, students, lecturer, course, tmp_path):
    session, _ = start_session(course=course, by=lecturer)
    state = str(tmp_path / "devices.json")
    args = ["--url", server, "--code", session.join_code, "--count", "5", "--state", state]
    out = _simulate(*args, "--duration", "1.5", "--heartbeat", "0.5")
    assert "Summary: 5/5 devices joined" in out
    assert "errors: none" in out
    rows = ConnectedDevice.objects.filter(session=session)
    assert rows.count() == 5
    assert {row.device.student_id for row in rows} == {s.pk for s in students}
    # Ctrl-C or --duration leaves cleanly: the server has marked them gone.
    assert not rows.filter(is_connected=True).exists()
    devices = set(Device.objects.values_list("pk", flat=True))
    assert len(devices) == 5
    out = _simulate(*args, "--duration", "1")
    assert "Summary: 5/5 devices joined" in out
    assert set(Device.objects.values_list("pk", flat=True)) == devices
    assert ConnectedDevice.objects.filter(session=session).count() == 5


@pytest.mark.servers
@pytest.mark.postgres
def test_a_wrong_code_reports_invalid_code_and_fails(server, students, lecturer, course, tmp_path):
    session, _ = start_session(course=course, by=lecturer)
    wrong = f"{(int(session.join_code) + 1) % 1_000_000:06d}"
    with pytest.raises(CommandError, match="5 of 5 devices failed: invalid_code=5") as caught:
        _simulate(
            "--url",
            server,
            "--course",
            "MATH101",
            "--code",
            wrong,
            "--count",
            "5",
            "--state",
            str(tmp_path / "devices.json"),
            "--duration",
            "10",
        )
    assert caught.value.returncode == 1
    assert ConnectedDevice.objects.count() == 0
    assert Device.objects.filter(name=SIMULATOR_DEVICE_NAME).count() == 5


class FakeDeviceServer:
    """Speaks the device protocol; drops the first connection right after its join."""

    def __init__(self, *, then: str = "end"):
        self.joins: list[dict] = []
        self.then = then

    async def handler(self, ws):
        hello = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "welcome", "device": hello["device"], "heartbeat": 20}))
        if "session" in hello:  # a resume: the hello re-attaches
            join = {"type": "join", "session": hello["session"]}
        else:
            join = json.loads(await ws.recv())
        self.joins.append(join)
        if len(self.joins) > 1 and self.then == "gone":
            await ws.send(json.dumps({"type": "error", "code": "no_active_session"}))
            return
        await ws.send(json.dumps({"type": "joined", "session": 7, "course": "MATH101"}))
        if len(self.joins) == 1:
            await ws.close(1011)  # the server went away
            return
        await ws.send(json.dumps({"type": "session.ended", "session": 7, "status": "present"}))
        await ws.close(4000)


async def _swarm_against(fake: FakeDeviceServer) -> SwarmStats:
    async def code_source(refresh: bool) -> str:
        return "123456"

    async with serve(fake.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        return await run_swarm(
            [DeviceCredentials(device="d-1", token="t", student="S00000")],
            url=f"ws://127.0.0.1:{port}/ws/device/",
            code_source=code_source,
            concurrency=1,
            heartbeat=None,
            duration=15,
            stop=asyncio.Event(),
        )


async def test_a_device_that_reconnects_resumes_by_session_id_not_by_code():
    fake = FakeDeviceServer()
    stats = await _swarm_against(fake)
    assert fake.joins == [{"type": "join", "code": "123456"}, {"type": "join", "session": 7}]
    assert stats.reconnects == 1
    assert stats.ended == {"present": 1}
    assert not stats.errors
    assert stats.ever_joined == {"d-1"}


async def test_a_session_that_ended_while_reconnecting_counts_as_ended_not_failed():
    fake = FakeDeviceServer(then="gone")
    stats = await _swarm_against(fake)
    assert fake.joins[1] == {"type": "join", "session": 7}
    assert stats.ended == {"ended_while_away": 1}
    assert not stats.errors
