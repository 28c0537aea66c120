"""Frames the protocol does not allow: a close or an error frame, never a server error."""

import logging

import pytest

from realtime.protocol import JsonSocket
from realtime.tests.sockets import closed_with, open_device

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_errors_logged(caplog):
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize(
    "frame",
    [
        "x" * 4097,
        '{"type": "ping", "pad": "' + "é" * 2100 + '"}',
        "not json",
        "[1, 2, 3]",
        '"ping"',
        '{"no": "type"}',
        '{"type": 7}',
        "[" * 3000,
    ],
    ids=["oversize", "oversize-utf8", "non-json", "array", "string", "no-type", "bad-type", "deep"],
)
async def test_it_closes_4400_on_a_frame_it_cannot_read(ws_app, device_and_token, frame):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_to(text_data=frame)
    assert await closed_with(communicator) == 4400


async def test_it_closes_4400_on_a_binary_frame(ws_app, device_and_token):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_to(bytes_data=b'{"type": "ping"}')
    assert await closed_with(communicator) == 4400


async def test_it_answers_an_unknown_type_with_an_error(ws_app, device_and_token):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_json_to({"type": "dance"})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "unknown_type"
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "join"},
        {"type": "join", "code": 123456},
        {"type": "join", "code": None},
        {"type": "join", "session": "12"},
        {"type": "join", "session": True},
        {"type": "hello", "device": "x", "token": "y"},
    ],
    ids=["no-field", "int-code", "null-code", "str-session", "bool-session", "second-hello"],
)
async def test_it_answers_missing_or_ill_typed_fields_with_bad_message(
    ws_app, device_and_token, session, frame
):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_json_to(frame)
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "bad_message"
    await communicator.disconnect()


async def test_a_malformed_code_is_an_invalid_code(ws_app, device_and_token, session):
    communicator = await open_device(ws_app, *device_and_token)
    await communicator.send_json_to({"type": "join", "code": "12ab"})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["code"] == "invalid_code"
    await communicator.disconnect()


async def test_it_closes_4429_on_a_flood(ws_app, device_and_token, monkeypatch):
    monkeypatch.setattr(JsonSocket, "flood_limit", 4)  # hello + 3 pings
    communicator = await open_device(ws_app, *device_and_token)
    for _ in range(3):
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.send_json_to({"type": "ping"})
    assert await closed_with(communicator) == 4429
