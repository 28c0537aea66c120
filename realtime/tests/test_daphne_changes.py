"""What realtime/daphne.py changes in daphne's connection table and Twisted's sockets.

These run the patched functions on a real socket pair and a real asyncio loop
without a daphne server (importing daphne.server would install a Twisted
reactor in the test process); the servers tests run them inside daphne.
"""

import asyncio
import gc
import select
import socket
import time
import types

import pytest
from twisted.internet import protocol as twisted_protocol
from twisted.internet import tcp
from twisted.internet.protocol import Factory

from realtime import daphne as patches


class FakeReactor:
    """The reactor's file-descriptor set, as far as a connection or a port uses it."""

    def __init__(self):
        self.writers = set()
        self.readers = set()

    def addReader(self, reader):
        self.readers.add(reader)

    def removeReader(self, reader):
        self.readers.discard(reader)

    def addWriter(self, writer):
        self.writers.add(writer)

    def removeWriter(self, writer):
        self.writers.discard(writer)


@pytest.fixture
def connection():
    ours, theirs = socket.socketpair()
    theirs.settimeout(5)
    reactor = FakeReactor()
    conn = tcp.Connection(ours, protocol=None, reactor=reactor)
    conn.connected = 1
    write = patches.send_at_once(tcp.Connection.write)
    yield types.SimpleNamespace(
        conn=conn, write=lambda data: write(conn, data), peer=theirs, reactor=reactor
    )
    ours.close()
    theirs.close()


def test_a_write_with_nothing_queued_is_sent_at_once(connection):
    connection.write(b'{"type":"pong"}')

    assert connection.peer.recv(100) == b'{"type":"pong"}'
    assert connection.reactor.writers == set()  # no trip through the selector
    assert connection.conn._tempDataLen == 0


def test_what_the_kernel_does_not_take_is_queued_and_later_writes_wait_behind_it(connection):
    big = bytes(range(256)) * 40_000  # 10 MB, more than a socket buffer holds
    connection.write(big)
    assert connection.conn in connection.reactor.writers
    queued = connection.conn._tempDataLen
    assert 0 < queued < len(big)  # part went at once, the rest waits

    connection.write(b"after")
    assert connection.conn._tempDataLen == queued + len(b"after")  # not sent ahead of the rest

    received = []
    total = len(big) + len(b"after")
    while sum(map(len, received)) < total:
        connection.conn.doWrite()
        received.append(connection.peer.recv(1 << 20))
    assert b"".join(received) == big + b"after"


def test_a_closing_connection_writes_the_twisted_way(connection):
    connection.conn.disconnecting = True
    connection.write(b"bye")

    assert connection.conn._tempDataLen == 3
    assert connection.conn in connection.reactor.writers


def test_text_is_refused_as_twisted_refuses_it(connection):
    with pytest.raises(TypeError):
        connection.write("text")


# --- the listen queue ----------------------------------------------------------------------


def connects(port: int, clients: int) -> int:
    """How many of `clients` connections complete their handshake, none of them accepted."""
    sockets, connected = [], 0
    try:
        for _ in range(clients):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            sockets.append(client)
        deadline = time.monotonic() + 1.0
        pending = list(sockets)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], pending, [], 0.05)
            for client in writable:
                if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected += 1
                pending.remove(client)
    finally:
        for client in sockets:
            client.close()
    return connected


@pytest.mark.parametrize(
    ("start_listening", "expected"),
    [
        (tcp.Port.startListening, lambda n: n < 100),  # Twisted's backlog of 50
        (patches.listen_deeper(tcp.Port.startListening), lambda n: n == 300),
    ],
    ids=["twisted", "deeper"],
)
def test_a_reconnect_storm_finds_room_in_the_listen_queue(start_listening, expected):
    port = tcp.Port(0, factory=Factory(), interface="127.0.0.1", reactor=FakeReactor())
    start_listening(port)  # and never accept, like a process busy with the storm
    try:
        connected = connects(port.getHost().port, 300)
    finally:
        port.socket.close()
    assert expected(connected), connected


# --- the connection table ----------------------------------------------------------------


class Protocol:
    """A daphne protocol, as far as the connection table uses one."""

    def __init__(self):
        self.exceptions = []

    def handle_exception(self, exception):
        self.exceptions.append(exception)


def server(application, close_timeout=5.0):
    return types.SimpleNamespace(
        connections={},
        application=application,
        application_close_timeout=close_timeout,
        handle_reply=lambda protocol, message: None,
        stop=lambda: None,
    )


def connect(server):
    protocol = Protocol()
    server.connections[protocol] = {"connected": 0}
    queue = patches._create_application(server, protocol, {"type": "websocket"})
    return protocol, queue


def until_disconnect(scope, receive, send):
    async def app():
        while (await receive())["type"] != "websocket.disconnect":
            pass

    return app()


async def settle():
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_closed_socket_is_reaped_as_soon_as_its_application_finishes():
    daphne = server(until_disconnect)
    protocol, queue = connect(daphne)
    await settle()

    patches._protocol_disconnected(daphne, protocol)
    assert protocol in daphne.connections  # its application still runs
    queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await settle()

    assert daphne.connections == {}


async def test_an_application_that_finishes_first_leaves_its_socket_until_it_closes():
    def one_message(scope, receive, send):
        async def app():
            await receive()

        return app()

    daphne = server(one_message)
    protocol, queue = connect(daphne)
    queue.put_nowait({"type": "websocket.connect"})
    await settle()
    assert "application_instance" not in daphne.connections[protocol]

    patches._protocol_disconnected(daphne, protocol)
    assert daphne.connections == {}
    patches._protocol_disconnected(daphne, protocol)  # a second close is harmless
    assert protocol.exceptions == []


async def test_an_application_that_ignores_the_close_is_cancelled_after_the_timeout():
    def deaf(scope, receive, send):
        async def app():
            await asyncio.sleep(60)

        return app()

    daphne = server(deaf, close_timeout=0.2)
    protocol, _ = connect(daphne)
    instance = daphne.connections[protocol]["application_instance"]
    patches._protocol_disconnected(daphne, protocol)
    await asyncio.sleep(0.1)
    assert not instance.done()

    await asyncio.sleep(0.4)
    assert instance.cancelled()
    assert daphne.connections == {}


async def test_an_application_error_reaches_the_open_socket_at_once():
    def failing(scope, receive, send):
        async def app():
            await receive()
            raise ValueError("boom")

        return app()

    daphne = server(failing)
    protocol, queue = connect(daphne)
    queue.put_nowait({"type": "websocket.connect"})
    await settle()

    assert [str(error) for error in protocol.exceptions] == ["boom"]
    assert protocol in daphne.connections  # open until the socket closes


def _full_collections_while_objects_pile_up(survivors: int) -> int:
    full = []

    def count(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(info["generation"])

    gc.callbacks.append(count)
    try:
        kept = [[] for _ in range(survivors)]  # containers the collector must walk
    finally:
        gc.callbacks.remove(count)
    del kept
    return len(full)


def test_with_everything_frozen_new_objects_do_not_set_off_full_collections():
    saved = gc.get_threshold()
    gc.collect()
    gc.freeze()
    try:
        # Python's own rule for the oldest generation, with the server's young threshold:
        # what lived before the freeze no longer counts, so full collections go on.
        gc.set_threshold(patches.GC_YOUNG_THRESHOLD, saved[1], saved[2])
        default = _full_collections_while_objects_pile_up(1_300_000)
        patches._tune_collector()
        tuned = _full_collections_while_objects_pile_up(1_300_000)
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()

    assert default >= 1
    assert tuned == 0


# --- timeouts and the keepalive ping -----------------------------------------------------


@pytest.fixture
def socket_class(monkeypatch):
    from daphne.ws_protocol import WebSocketProtocol

    monkeypatch.setattr(patches, "_websocket_protocol", WebSocketProtocol)

    class Socket(WebSocketProtocol):
        """A daphne socket as the timeout walk sees it, recording what is done to it."""

        def __init__(self, state, opened_ago, silent_for):
            now = time.time()
            self.state = state
            self.socket_opened = now - opened_ago
            self.last_ping = now - silent_for
            self.done = []

        def _sendAutoPing(self):
            self.done.append("ping")

        def serverClose(self, code=None):
            self.done.append("close")
            self.state = self.STATE_CLOSING

        def serverReject(self):
            self.done.append("reject")

    return Socket


def timeouts(websocket_timeout=86400):
    return types.SimpleNamespace(
        websocket_timeout=websocket_timeout, websocket_connect_timeout=5, ping_interval=20
    )


@pytest.mark.parametrize(
    ("silent_for", "pinged"),
    [(5, False), (30, False), (patches.KEEPALIVE_AFTER_SILENCE + 1, True)],
)
def test_only_a_socket_silent_for_the_keepalive_period_is_pinged(socket_class, silent_for, pinged):
    sock = socket_class(socket_class.STATE_OPEN, opened_ago=600, silent_for=silent_for)
    patches._timeout_checker(timeouts(), sock, {})
    assert sock.done == (["ping"] if pinged else [])
    # The ping counts as traffic: the next walk leaves the socket alone.
    patches._timeout_checker(timeouts(), sock, {})
    assert sock.done == (["ping"] if pinged else [])


def test_a_socket_past_the_websocket_timeout_is_closed_not_pinged(socket_class):
    sock = socket_class(socket_class.STATE_OPEN, opened_ago=120, silent_for=100)
    patches._timeout_checker(timeouts(websocket_timeout=60), sock, {})
    assert sock.done == ["close"]


@pytest.mark.parametrize(("opened_ago", "rejected"), [(2, False), (6, True)])
def test_a_handshake_left_unfinished_past_the_connect_timeout_is_rejected(
    socket_class, opened_ago, rejected
):
    sock = socket_class(socket_class.STATE_CONNECTING, opened_ago=opened_ago, silent_for=100)
    patches._timeout_checker(timeouts(), sock, {})
    assert sock.done == (["reject"] if rejected else [])


def test_an_http_request_keeps_daphnes_own_timeouts(socket_class):
    class Request:
        checked = 0

        def check_timeouts(self):
            self.checked += 1

    request = Request()
    patches._timeout_checker(timeouts(), request, {})
    assert request.checked == 1


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (1024 * 1024, patches.MAX_INBOUND_BYTES),  # daphne's default
        (0, patches.MAX_INBOUND_BYTES),  # autobahn's "no limit"
        (8 * 1024, 8 * 1024),  # an operator's smaller limit stays
    ],
)
def test_inbound_sizes_are_capped_and_a_smaller_limit_stays(given, kept):
    seen = {}

    def set_protocol_options(self, **kwargs):
        seen.update(kwargs)

    capped = patches.capped_options(set_protocol_options)
    capped(None, maxFramePayloadSize=given, maxMessagePayloadSize=given, autoPingTimeout=30)
    assert seen == {
        "maxFramePayloadSize": kept,
        "maxMessagePayloadSize": kept,
        "autoPingTimeout": 30,
    }


class Received(twisted_protocol.Protocol):
    def __init__(self):
        self.data = []

    def dataReceived(self, data):
        self.data.append(data)
        if data == b"fail":
            raise RuntimeError("a protocol's bug")


@pytest.fixture
def reactor_and_peer(monkeypatch):
    """A TCP server connection on a patched asyncio reactor of its own (not the installed one)."""
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    patched = patches.read_without_log_context(AsyncioSelectorReactor.addReader)
    monkeypatch.setattr(AsyncioSelectorReactor, "addReader", patched)
    loop = asyncio.new_event_loop()
    reactor = AsyncioSelectorReactor(loop)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.settimeout(5)
    protocol = Received()
    port = types.SimpleNamespace(_realPortNumber=1)
    # A server connection starts reading as it is made: through the patched addReader.
    server = tcp.Server(ours, protocol, ("127.0.0.1", 1), port, 1, reactor)
    protocol.makeConnection(server)
    yield types.SimpleNamespace(reactor=reactor, server=server, protocol=protocol, peer=theirs)
    ours.close()
    theirs.close()
    loop.close()


def _callback(reactor, fd):
    return reactor._asyncioEventloop._selector.get_key(fd).data[0]._callback


def test_a_tcp_connection_is_read_without_twisteds_log_context(reactor_and_peer):
    from twisted.python.log import callWithLogger

    reactor, server = reactor_and_peer.reactor, reactor_and_peer.server
    assert _callback(reactor, server.fileno()) is not callWithLogger
    assert reactor._readers[server] == server.fileno()

    reactor_and_peer.peer.sendall(b'{"type":"ping"}')
    loop = reactor._asyncioEventloop
    loop.run_until_complete(asyncio.sleep(0.05))
    assert reactor_and_peer.protocol.data == [b'{"type":"ping"}']

    # Twisted's removeReader takes it out as it would its own.
    reactor.removeReader(server)
    assert server not in reactor._readers
    with pytest.raises(KeyError):
        loop._selector.get_key(server.fileno())


def test_a_read_that_fails_is_logged_and_closes_its_connection_as_twisted_does(
    reactor_and_peer, caplog
):
    from twisted.python import log

    reactor, server = reactor_and_peer.reactor, reactor_and_peer.server
    failures = []
    log.addObserver(failures.append)
    try:
        reactor_and_peer.peer.sendall(b"fail")
        reactor._asyncioEventloop.run_until_complete(asyncio.sleep(0.05))
    finally:
        log.removeObserver(failures.append)
    assert any(event.get("isError") for event in failures)
    assert server.disconnected or server.disconnecting
    assert server not in reactor._readers


def test_other_readers_keep_twisteds_way(reactor_and_peer):
    from twisted.python.log import callWithLogger

    reactor = reactor_and_peer.reactor
    ours, theirs = socket.socketpair()
    try:
        client = tcp.Connection(ours, Received(), reactor)  # not a server connection
        reactor.addReader(client)
        assert _callback(reactor, client.fileno()) is callWithLogger
    finally:
        ours.close()
        theirs.close()


# --- paced wake-ups ----------------------------------------------------------------------


class PacedFakes:
    """paced_select around a recorded select, a recorded rest and a clock the test moves."""

    def __init__(self, tick=0.01, thread_calls=False):
        self.now = 100.0
        self.polls = []  # each select's timeout
        self.rests = []  # each rest's length
        self.thread_calls = thread_calls
        self.select = patches.paced_select(self._select, tick, self._woken, clock=lambda: self.now)

    def _select(self, timeout):
        self.polls.append(timeout)
        return ["event"]

    def _woken(self, seconds):
        self.rests.append(seconds)
        if self.thread_calls:
            return True
        self.now += seconds
        return False


def test_the_first_poll_and_a_poll_after_the_tick_do_not_rest():
    fakes = PacedFakes(tick=0.01)
    assert fakes.select(None) == ["event"]
    fakes.now += 0.02
    fakes.select(0.5)

    assert fakes.rests == []
    assert fakes.polls == [None, 0.5]


def test_a_poll_within_the_tick_rests_for_the_rest_of_it_then_waits_as_asked():
    fakes = PacedFakes(tick=0.01)
    fakes.select(None)
    fakes.now += 0.004
    fakes.select(None)

    assert fakes.rests == [pytest.approx(0.006)]
    assert fakes.polls == [None, None]


def test_a_rest_never_runs_past_the_loops_next_timer():
    fakes = PacedFakes(tick=0.01)
    fakes.select(None)
    fakes.select(0.003)  # a timer is due in 3 ms: the rest ends then
    fakes.now += 0.008
    fakes.select(0.005)  # 2 ms of the tick left: rest, then wait the 3 ms after it

    assert fakes.rests == [pytest.approx(0.003), pytest.approx(0.002)]
    assert fakes.polls == [None, 0.0, pytest.approx(0.003)]


def test_a_loop_with_work_ready_polls_without_resting():
    fakes = PacedFakes(tick=0.01)
    fakes.select(None)
    fakes.select(0)

    assert fakes.rests == []
    assert fakes.polls == [None, 0]


def test_a_call_from_a_thread_ends_the_rest_and_the_poll_takes_what_is_ready():
    fakes = PacedFakes(tick=0.01, thread_calls=True)
    fakes.select(None)
    fakes.select(None)

    assert fakes.rests == [pytest.approx(0.01)]
    assert fakes.polls == [None, 0]


@pytest.fixture
def paced_loop():
    def make(tick):
        loop = asyncio.SelectorEventLoop()
        rest_on = patches.pace_wakeups(loop, tick)
        made.append((loop, rest_on))
        return loop

    made = []
    yield make
    for loop, rest_on in made:
        loop.close()
        rest_on.close()


def test_frames_arriving_within_a_tick_are_read_in_one_wake(paced_loop):
    loop = paced_loop(tick=0.1)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    reads, received = [], bytearray()

    def read():
        reads.append(1)
        received.extend(ours.recv(4096))

    loop.add_reader(ours.fileno(), read)
    writes = 30

    def write():
        for _ in range(writes):
            theirs.send(b"x")
            time.sleep(0.003)  # 30 frames over ~0.1 s, each at its own moment

    try:

        async def until_all_arrived():
            writer = loop.run_in_executor(None, write)
            while len(received) < writes:
                await asyncio.sleep(0.01)
            await writer

        loop.run_until_complete(asyncio.wait_for(until_all_arrived(), 10))
    finally:
        loop.remove_reader(ours.fileno())
        ours.close()
        theirs.close()

    assert bytes(received) == b"x" * writes
    assert len(reads) <= writes // 3  # unpaced, nearly every frame is a wake of its own


def test_a_call_from_another_thread_is_not_kept_waiting_for_the_tick(paced_loop):
    loop = paced_loop(tick=30.0)

    async def answered_from_a_thread():
        await asyncio.sleep(0)  # a poll: the next one rests for the tick
        answered = loop.create_future()
        loop.run_in_executor(None, lambda: loop.call_soon_threadsafe(answered.set_result, "ok"))
        return await answered

    # wait_for's own timer would end a 30 s rest too: the deadline is the test's guard
    assert loop.run_until_complete(asyncio.wait_for(answered_from_a_thread(), 20)) == "ok"


def test_a_loop_with_no_selector_to_pace_runs_as_it_is(caplog):
    class OtherLoop:  # uvloop's, say: no selector, no self-pipe
        pass

    assert patches.pace_wakeups(OtherLoop()) is None
    assert "not paced" in caplog.text


def test_pacing_a_loop_twice_wraps_its_select_once(paced_loop):
    loop = paced_loop(tick=0.01)
    paced = loop._selector.select
    assert patches.pace_wakeups(loop) is None
    assert loop._selector.select is paced
