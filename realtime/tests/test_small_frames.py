"""realtime/daphne.py's small-frame reads and writes against autobahn's own.

Each case feeds the same bytes to two autobahn server protocols after a real
opening handshake, one with the patched dataReceived/sendMessage and one
without, and requires the same messages delivered and the same bytes written
back (pongs to pings, close frames for protocol errors).
"""

import base64
import os

import pytest
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet.testing import StringTransport

from realtime import daphne as patches


class Transport(StringTransport):
    """Twisted's TCP transport lets autobahn unregister a producer it never registered."""

    def unregisterProducer(self):
        self.producer = None


class Recording(WebSocketServerProtocol):
    def onConnect(self, request):
        self.messages = []

    def onMessage(self, payload, isBinary):
        self.messages.append((payload, isBinary))


class Patched(Recording):
    quick_reply = None  # daphne's protocol has one (realtime/daphne.py)
    dataReceived = patches.read_small_frames(Recording.dataReceived)
    sendMessage = patches.send_small_frames(Recording.sendMessage)


def opened(kind, **options):
    factory = WebSocketServerFactory("ws://localhost:8000")
    factory.setProtocolOptions(**options)
    factory.protocol = kind
    protocol = factory.buildProtocol(None)
    transport = Transport()
    protocol.makeConnection(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    protocol.dataReceived(
        (
            "GET / HTTP/1.1\r\nHost: localhost:8000\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert protocol.state == protocol.STATE_OPEN
    transport.clear()
    return protocol, transport


def frame(payload: bytes, opcode=0x1, fin=True, masked=True, mask=b"\x1f\x8b\x03\xa7") -> bytes:
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    flag = 0x80 if masked else 0
    if n < 126:
        header = bytes((first, flag | n))
    elif n < 65536:
        header = bytes((first, flag | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, flag | 127)) + n.to_bytes(8, "big")
    if not masked:
        return header + payload
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


HEARTBEAT = b'{"type":"ping"}'

READS = {
    "a heartbeat": [frame(HEARTBEAT)],
    "an empty text frame": [frame(b"")],
    "125 bytes": [frame(b"x" * 125)],
    "126 bytes (a longer header)": [frame(b"y" * 126)],
    "unicode": [frame('{"name":"Zoë Ōkubo 📱"}'.encode())],
    "a zero mask": [frame(HEARTBEAT, mask=b"\0\0\0\0")],
    "invalid UTF-8": [frame(b'{"type":"\xff"}')],
    "a binary frame": [frame(b"\x00\x01\x02", opcode=0x2)],
    "an unmasked frame": [frame(HEARTBEAT, masked=False)],
    "two frames in one read": [frame(HEARTBEAT) + frame(b'{"type":"leave"}')],
    "a frame split over two reads": [frame(HEARTBEAT)[:5], frame(HEARTBEAT)[5:]],
    "a frame that ends a buffered half": [frame(HEARTBEAT)[:3], frame(HEARTBEAT)[3:]],
    "a fragmented message": [frame(b'{"type":', fin=False), frame(b'"ping"}', opcode=0x0)],
    "a heartbeat inside a fragmented message": [frame(b"{", fin=False), frame(HEARTBEAT)],
    "a ping control frame": [frame(b"are you there", opcode=0x9)],
    "a close frame, then a heartbeat": [frame(b"\x03\xe8", opcode=0x8), frame(HEARTBEAT)],
    "reserved bits set": [bytes((0xC1,)) + frame(HEARTBEAT)[1:]],
}


def stats(protocol) -> dict:
    return dict(vars(protocol.trafficStats))


@pytest.mark.parametrize("reads", READS.values(), ids=READS.keys())
def test_reads_deliver_and_answer_what_autobahn_does(reads):
    results = []
    for kind in (Recording, Patched):
        protocol, transport = opened(kind)
        for data in reads:
            protocol.dataReceived(data)
        results.append((protocol.messages, transport.value(), protocol.state, stats(protocol)))
    assert results[1] == results[0]


@pytest.fixture
def clock(monkeypatch):
    """Autobahn's timers on a clock the test moves, not on a reactor."""
    import txaio
    from twisted.internet.task import Clock

    clock = Clock()
    monkeypatch.setattr(txaio.config, "loop", clock)
    return clock


@pytest.mark.parametrize("answer", [frame(HEARTBEAT), b""], ids=["a heartbeat", "nothing"])
def test_a_heartbeat_after_a_keepalive_ping_keeps_the_socket_as_autobahn_does(clock, answer):
    # A ping unanswered within autoPingTimeout closes the socket; any data frame
    # counts as an answer (autobahn's autoPingRestartOnAnyTraffic).
    outcomes = []
    for kind in (Recording, Patched):
        protocol, transport = opened(kind, autoPingTimeout=5)
        protocol._sendAutoPing()
        protocol.dataReceived(answer)
        clock.advance(10)
        outcomes.append((protocol.state, transport.disconnecting))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0] == (
        (Recording.STATE_OPEN, False) if answer else (Recording.STATE_CLOSED, True)
    )


def test_a_heartbeat_is_delivered_once_and_unmasked():
    protocol, _ = opened(Patched)

    protocol.dataReceived(frame(HEARTBEAT))
    protocol.dataReceived(frame('{"é":1}'.encode()))

    assert protocol.messages == [(HEARTBEAT, False), ('{"é":1}'.encode(), False)]


def test_invalid_utf8_fails_the_connection_as_autobahn_does():
    protocol, transport = opened(Patched)

    protocol.dataReceived(frame(b'{"type":"\xff"}'))

    assert protocol.messages == []
    assert protocol.state == protocol.STATE_CLOSED
    assert transport.disconnecting  # autobahn drops a client that sends invalid text


SENDS = {
    "a pong": (b'{"type":"pong"}', False),
    "empty": (b"", False),
    "125 bytes": (b"a" * 125, False),
    "126 bytes": (b"b" * 126, False),
    "65535 bytes": (b"c" * 65535, False),
    "65536 bytes": (b"d" * 65536, False),
    "70,000 bytes": (b"e" * 70_000, False),
    "binary": (b"\x00\xff", True),
}


@pytest.mark.parametrize(("payload", "binary"), SENDS.values(), ids=SENDS.keys())
def test_sends_write_what_autobahn_writes(payload, binary):
    written = []
    for kind in (Recording, Patched):
        protocol, transport = opened(kind)
        protocol.sendMessage(payload, binary)
        written.append((transport.value(), stats(protocol)))
    assert written[1] == written[0]


def test_auto_fragmented_sends_are_autobahns():
    written = []
    for kind in (Recording, Patched):
        protocol, transport = opened(kind, autoFragmentSize=10)
        protocol.sendMessage(b'{"type":"pong","padding":1}')
        written.append(transport.value())
    assert written[1] == written[0]


@pytest.mark.parametrize("size", [patches.MAX_INBOUND_BYTES + 1, 18_026, 70_000])
@pytest.mark.parametrize("sync", [False, True], ids=["framed here", "autobahn's way"])
def test_the_inbound_size_cap_never_refuses_a_send(size, sync):
    """A lecturer's snapshot over the cap was refused by autobahn (PayloadExceededError,
    the socket closed 1011): it is sent as autobahn without a limit sends it."""
    payload = b"x" * size
    unlimited, expected = opened(Recording)
    unlimited.sendMessage(payload, sync=sync)
    capped, transport = opened(Patched, maxMessagePayloadSize=patches.MAX_INBOUND_BYTES)
    capped.sendMessage(payload, sync=sync)
    assert transport.value() == expected.value()
    assert capped.maxMessagePayloadSize == patches.MAX_INBOUND_BYTES  # still caps reads


def test_a_send_on_a_closing_socket_is_refused_as_autobahn_refuses_it():
    from autobahn.exception import Disconnected

    protocol, _ = opened(Patched)
    protocol.sendClose(1000)

    with pytest.raises(Disconnected):
        protocol.sendMessage(b'{"type":"pong"}')
