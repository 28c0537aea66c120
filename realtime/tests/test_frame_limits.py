"""A real daphne refuses what the protocol cannot read with a close code, not a dropped socket."""

import asyncio
import base64
import json
import os
import socket
import struct

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from realtime.daphne import MAX_INBOUND_BYTES
from realtime.protocol import MAX_FRAME_BYTES
from realtime.tests.servers import daphne

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

WAIT = 10


async def _closed_after_sending(port: int, text: str) -> int:
    async with connect(f"ws://127.0.0.1:{port}/ws/device/", max_size=None, open_timeout=WAIT) as ws:
        # A big frame may be refused while it is still being sent: the close then
        # surfaces from the send.
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send(text)
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None, "the socket was dropped without a close frame"
    return closed.value.rcvd.code


def _raw_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/device/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def _close_code_read(sock: socket.socket) -> int:
    """The code of the first frame the server sends, which must be a close frame."""
    head = sock.recv(2)
    assert head and head[0] == 0x88, head  # FIN + close
    payload = sock.recv(head[1] & 0x7F)
    return struct.unpack("!H", payload[:2])[0]


def test_frames_over_the_protocol_and_the_server_limits_get_close_codes(tmp_path):
    with daphne(workdir=tmp_path) as port:
        # Over the protocol's 4 KiB: the consumer's protocol violation.
        assert asyncio.run(_closed_after_sending(port, "x" * (MAX_FRAME_BYTES + 1))) == 4400
        # Over what the server buffers at all: 1009, not a dropped connection (1006).
        assert asyncio.run(_closed_after_sending(port, "x" * (MAX_INBOUND_BYTES + 1))) == 1009
        assert asyncio.run(_closed_after_sending(port, "x" * (2 * 1024 * 1024))) == 1009


def test_a_frame_announcing_a_megabyte_is_refused_before_it_arrives(tmp_path):
    with daphne(workdir=tmp_path) as port:
        sock = _raw_socket(port)
        # A masked text frame header announcing 1 MiB, and only its first bytes.
        sock.sendall(bytes([0x81, 0x80 | 127]) + (1 << 20).to_bytes(8, "big") + b"mask" + b"x" * 10)
        assert _close_code_read(sock) == 1009
        assert sock.recv(1) == b""  # then the server closes TCP
        sock.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes([0x81, 0x02]) + b"hi", 1002),  # a client frame must be masked
        (bytes([0xC1, 0x82]) + b"mask" + b"hi", 1002),  # a reserved bit without an extension
        (bytes([0x83, 0x80]) + b"mask", 1002),  # a reserved opcode
        (bytes([0x81, 0x82]) + b"\0\0\0\0" + b"\xff\xfe", 1007),  # text that is not UTF-8
    ],
)
def test_protocol_errors_get_their_close_code(tmp_path, frame, code):
    with daphne(workdir=tmp_path) as port:
        sock = _raw_socket(port)
        sock.sendall(frame)
        assert _close_code_read(sock) == code
        sock.close()


@pytest.mark.postgres
def test_a_snapshot_over_the_inbound_cap_still_reaches_the_lecturer(tmp_path, lecturer, api_key):
    """The cap is for what clients send: a lecturer of many running classes gets a
    snapshot far over it (it was refused, and the socket closed with 1011)."""
    from attendance.models import Course
    from attendance.sessions import start_session

    for i in range(150):
        course = Course.objects.create(code=f"BIG{i:03d}", title=f"A class with a long title {i}")
        course.lecturers.add(lecturer)
        start_session(course=course, by=lecturer)

    async def snapshot(port: int) -> str:
        url = f"ws://127.0.0.1:{port}/ws/events/"
        async with connect(url, origin="http://127.0.0.1", max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": api_key}))
            while True:
                frame = await asyncio.wait_for(ws.recv(), WAIT)
                if json.loads(frame)["type"] == "snapshot":
                    return frame

    with daphne(workdir=tmp_path) as port:
        frame = asyncio.run(snapshot(port))
    assert len(frame.encode()) > MAX_INBOUND_BYTES
    assert len(json.loads(frame)["sessions"]) == 150
