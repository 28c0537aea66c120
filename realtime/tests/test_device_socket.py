"""The /ws/device/ socket: hello, join, re-attach, ping, leave, session end, revocation."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from django.utils import timezone

from attendance.devices import register_device, revoke_device
from attendance.models import ConnectedDevice, Device, NetworkSession
from attendance.sessions import end_session
from realtime.device import DeviceConsumer
from realtime.tests.sockets import closed_with, hello, open_device, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _rows(device):
    return list(ConnectedDevice.objects.filter(device=device))


async def _once(read, holds):
    """What `read()` returns once it `holds` (or the last reading): a heartbeat's write
    lands after its pong."""
    for _ in range(100):
        value = await read()
        if holds(value):
            break
        await asyncio.sleep(0.05)
    return value


async def _join(communicator, **fields) -> dict:
    await communicator.send_json_to({"type": "join", **fields})
    return await communicator.receive_json_from(timeout=5)


async def test_it_welcomes_a_device_with_its_token(ws_app, device_and_token, students, settings):
    device, token = device_and_token
    communicator = await open_socket(ws_app, "/ws/device/")
    welcome = await hello(communicator, device, token)
    assert welcome == {
        "type": "welcome",
        "device": str(device.public_id),
        "student": students[0].student_number,
        "heartbeat": settings.ATTENDANCE_HEARTBEAT_SECONDS,
    }
    # The hello writes nothing; the first heartbeat records the device's use.
    await database_sync_to_async(device.refresh_from_db)()
    assert device.last_used_at is None
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    read = database_sync_to_async(lambda: Device.objects.get(pk=device.pk))
    assert (await _once(read, lambda d: d.last_used_at is not None)).last_used_at is not None
    await communicator.disconnect()


async def test_a_resume_says_hello_and_reattaches_in_one_frame(ws_app, device_and_token, session):
    device, token = device_and_token
    first = await open_device(ws_app, device, token)
    assert (await _join(first, code=session.join_code))["type"] == "joined"
    await first.disconnect()

    again = await open_socket(ws_app, "/ws/device/")
    await again.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token, "session": session.pk}
    )
    assert (await again.receive_json_from(timeout=5))["type"] == "welcome"
    assert await again.receive_json_from(timeout=5) == {
        "type": "joined",
        "session": session.pk,
        "course": session.course.code,
    }
    [row] = await _rows(device)
    assert row.is_connected
    await again.disconnect()


async def test_it_closes_4401_on_a_wrong_token(ws_app, device):
    communicator = await open_socket(ws_app, "/ws/device/")
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": "not-the-token"}
    )
    assert await closed_with(communicator) == 4401


@pytest.mark.parametrize("suffix", ["\ud800", "\x00", "é"])
async def test_it_closes_4401_on_a_token_no_secret_could_be(ws_app, device_and_token, suffix):
    # A lone surrogate cannot even be encoded to be hashed: it once crashed the
    # socket (1011), and every other hello in its batch with it.
    device, token = device_and_token
    communicator = await open_socket(ws_app, "/ws/device/")
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token + suffix}
    )
    assert await closed_with(communicator) == 4401


async def test_it_closes_4401_when_the_first_frame_is_not_hello(ws_app, session):
    communicator = await open_socket(ws_app, "/ws/device/")
    await communicator.send_json_to({"type": "join", "code": session.join_code})
    assert await closed_with(communicator) == 4401


async def test_it_closes_4401_without_hello_in_time(ws_app, monkeypatch):
    monkeypatch.setattr(DeviceConsumer, "hello_timeout", 0.05)
    communicator = await open_socket(ws_app, "/ws/device/")
    assert await closed_with(communicator) == 4401


async def test_a_hello_the_database_is_slow_to_answer_is_told_to_retry_not_refused(
    ws_app, device_and_token, monkeypatch
):
    """The hello deadline passing while the database works on the hello is not the
    device's fault: 4401 would make it drop its credentials and stop for good."""
    from realtime import device as device_module

    async def slow_database(item):
        await asyncio.sleep(0.5)
        raise AssertionError("the socket should have given up on this hello already")

    monkeypatch.setattr(DeviceConsumer, "hello_timeout", 0.1)
    monkeypatch.setattr(device_module, "hellos", slow_database)
    communicator = await open_socket(ws_app, "/ws/device/")
    device, token = device_and_token
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token}
    )
    error = await communicator.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "unavailable")
    assert await closed_with(communicator) == 1013


async def test_it_joins_by_the_current_code(ws_app, device_and_token, session):
    communicator = await open_device(ws_app, *device_and_token)
    assert await _join(communicator, code=session.join_code) == {
        "type": "joined",
        "session": session.pk,
        "course": "MATH101",
    }
    rows = await _rows(device_and_token[0])
    assert [(r.session_id, r.is_connected) for r in rows] == [(session.pk, True)]
    await communicator.disconnect()


async def test_it_joins_by_the_previous_code(ws_app, device_and_token, session):
    await database_sync_to_async(NetworkSession.objects.filter(pk=session.pk).update)(
        previous_join_code=session.join_code,
        join_code="000001" if session.join_code != "000001" else "000002",
    )
    communicator = await open_device(ws_app, *device_and_token)
    reply = await _join(communicator, code=session.join_code)
    assert reply["type"] == "joined" and reply["session"] == session.pk
    await communicator.disconnect()


async def test_it_refuses_a_wrong_code(ws_app, device_and_token, session):
    wrong = "123456" if session.join_code != "123456" else "654321"
    communicator = await open_device(ws_app, *device_and_token)
    reply = await _join(communicator, code=wrong)
    assert reply["type"] == "error" and reply["code"] == "invalid_code"
    assert await _rows(device_and_token[0]) == []
    await communicator.disconnect()


async def test_it_refuses_a_student_not_enrolled(ws_app, make_students, session):
    outsider = (await database_sync_to_async(make_students)(1, prefix="X"))[0]
    device, token = await database_sync_to_async(register_device)(student=outsider, name="p")
    communicator = await open_device(ws_app, device, token)
    reply = await _join(communicator, code=session.join_code)
    assert reply["code"] == "not_enrolled"
    assert await _rows(device) == []
    await communicator.disconnect()


async def test_it_says_no_active_session_when_none_of_the_students_courses_runs(
    ws_app, device_and_token
):
    communicator = await open_device(ws_app, *device_and_token)
    reply = await _join(communicator, code="123456")
    assert reply["code"] == "no_active_session"
    await communicator.disconnect()


async def test_it_rate_limits_after_five_wrong_codes(ws_app, device_and_token, session):
    wrong = "123456" if session.join_code != "123456" else "654321"
    communicator = await open_device(ws_app, *device_and_token)
    for _ in range(5):
        assert (await _join(communicator, code=wrong))["code"] == "invalid_code"
    # Even the right code is refused until the minute is over.
    assert (await _join(communicator, code=session.join_code))["code"] == "rate_limited"
    assert await _rows(device_and_token[0]) == []
    await communicator.disconnect()


async def test_it_reattaches_by_session_without_a_second_row(ws_app, device_and_token, session):
    first = await open_device(ws_app, *device_and_token)
    assert (await _join(first, code=session.join_code))["type"] == "joined"
    await first.disconnect()
    [row] = await _rows(device_and_token[0])
    assert not row.is_connected

    second = await open_device(ws_app, *device_and_token)
    assert await _join(second, session=session.pk) == {
        "type": "joined",
        "session": session.pk,
        "course": "MATH101",
    }
    assert (await _join(second, code=session.join_code))["type"] == "joined"
    [again] = await _rows(device_and_token[0])
    assert again.pk == row.pk and again.is_connected
    assert again.connected_at == row.connected_at
    await second.disconnect()


async def test_it_refuses_to_reattach_a_device_that_never_joined(ws_app, device_and_token, session):
    communicator = await open_device(ws_app, *device_and_token)
    assert (await _join(communicator, session=session.pk))["code"] == "invalid_code"
    assert (await _join(communicator, session=session.pk + 1000))["code"] == "no_active_session"
    await communicator.disconnect()


async def test_it_answers_ping_with_pong(ws_app, device_and_token):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_heartbeats_write_at_most_once_per_interval(
    ws_app, device_and_token, session, settings
):
    communicator = await open_device(ws_app, *device_and_token)
    await _join(communicator, code=session.join_code)
    [joined] = await _rows(device_and_token[0])
    for _ in range(5):
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    [row] = await _rows(device_and_token[0])
    assert row.last_seen_at == joined.last_seen_at

    # Once an interval has passed, the next ping writes.
    settings.ATTENDANCE_HEARTBEAT_SECONDS = 0
    before = timezone.now()
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    [row] = await _once(
        lambda: _rows(device_and_token[0]), lambda rows: rows[0].last_seen_at >= before
    )
    assert row.last_seen_at >= before
    await communicator.disconnect()


async def test_it_leaves_and_says_left(ws_app, device_and_token, session):
    communicator = await open_device(ws_app, *device_and_token)
    await _join(communicator, code=session.join_code)
    await communicator.send_json_to({"type": "leave"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "left"}
    [row] = await _rows(device_and_token[0])
    assert not row.is_connected and row.disconnected_at is not None
    await communicator.disconnect()


async def test_it_tells_the_device_its_status_when_the_session_ends(
    ws_app, device_and_token, session
):
    communicator = await open_device(ws_app, *device_and_token)
    await _join(communicator, code=session.join_code)
    await database_sync_to_async(end_session)(session=session)
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "session.ended",
        "session": session.pk,
        "status": "present",
    }
    assert await closed_with(communicator) == 4000


async def test_it_closes_a_revoked_device_with_4403(ws_app, device_and_token, session):
    device, token = device_and_token
    communicator = await open_device(ws_app, device, token)
    await _join(communicator, code=session.join_code)
    await database_sync_to_async(revoke_device)(device=device)
    # The revocation is pushed: the socket closes without waiting for a frame.
    assert await closed_with(communicator) == 4403


async def test_a_revocation_whose_event_was_lost_closes_at_the_next_heartbeat(
    ws_app, device_and_token, session, settings
):
    device, token = device_and_token
    communicator = await open_device(ws_app, device, token)
    await _join(communicator, code=session.join_code)
    # Revoked by another process whose push never arrived: only the database knows.
    await database_sync_to_async(Device.objects.filter(pk=device.pk).update)(
        is_active=False, slot=None, revoked_at=timezone.now()
    )
    settings.ATTENDANCE_HEARTBEAT_SECONDS = 0
    await communicator.send_json_to({"type": "ping"})
    # The pong does not wait for the write; what the write finds out follows it.
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    assert await closed_with(communicator) == 4403


async def test_a_heartbeat_the_database_cannot_take_is_followed_by_an_unavailable_error(
    ws_app, device_and_token, monkeypatch
):
    from realtime import device as device_module

    def database_away(requests):
        raise OperationalError("connection refused")

    communicator = await open_device(ws_app, *device_and_token)
    monkeypatch.setattr(device_module.heartbeats, "run", database_away)
    await communicator.send_json_to({"type": "ping"})  # the first one after a hello writes
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    error = await communicator.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "unavailable")
    # Still open, and the next ping tries the write again.
    monkeypatch.undo()
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    read = database_sync_to_async(lambda: Device.objects.get(pk=device_and_token[0].pk))
    assert (await _once(read, lambda d: d.last_used_at is not None)).last_used_at is not None
    await communicator.disconnect()


async def test_a_revoked_device_cannot_say_hello(ws_app, device_and_token):
    device, token = device_and_token
    await database_sync_to_async(revoke_device)(device=device)
    communicator = await open_socket(ws_app, "/ws/device/")
    await hello_and_expect_close(communicator, device, token, 4401)


async def hello_and_expect_close(communicator, device, token, code):
    await communicator.send_json_to(
        {"type": "hello", "device": str(device.public_id), "token": token}
    )
    assert await closed_with(communicator) == code


async def test_it_records_the_ip_address_from_the_scope(ws_app, device_and_token, session):
    async def from_a_phone(scope, receive, send):
        return await ws_app({**scope, "client": ("10.1.2.3", 50000)}, receive, send)

    communicator = await open_device(from_a_phone, *device_and_token)
    await _join(communicator, code=session.join_code)
    [row] = await _rows(device_and_token[0])
    assert row.ip_address == "10.1.2.3"
    await communicator.disconnect()
