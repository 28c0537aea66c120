"""What this project changes in a daphne server process (installed from config/asgi.py).

Only where the Twisted reactor is installed, i.e. under daphne; never in
tests, commands or the sweeper.

- Close codes. Daphne closes a socket through autobahn's sendClose, which
  allows only 1000 and 3000-4999 from an application: 1012 (and 1001, 1011,
  1013) raised an exception instead of closing. Those codes are the protocol's
  own (RFC 6455 §7.4.1, IANA registry) and the ones htmx-ext-ws reconnects
  after, so daphne's close sends them as they are.
- Bookkeeping. Daphne walks its whole connection table once a second (to
  reap finished application instances) and every two seconds (timeouts and
  keepalive pings). With 10,000 sockets each walk held the event loop for
  60-80 ms, and every join waited behind it, and the walks cost a quarter of
  the CPU of a process whose devices only heartbeat. A connection is now
  reaped when something happens to it: its application instance finishing
  (a done callback), or its socket closing (at once if the instance is done,
  else a timer that kills it after --application-close-timeout, as daphne
  does). The walks go on, a slice at a time every SLICE_SECONDS, visiting
  every connection once per APP_CHECK_SECONDS (a safety net; nothing is
  expected to be left for it) and TIMEOUT_CHECK_SECONDS (the WebSocket
  timeouts, and the keepalive ping). Only sockets silent for 45 s get that
  ping, up to TIMEOUT_CHECK_SECONDS later: devices heartbeat every 20 s
  themselves. Even so, at 10,000 idle sockets the visits were an eighth of
  the event loop's time with the walks every 30 s and 10 s; now every 2 min
  and 30 s (a handshake the application never accepts is rejected that much
  after --websocket_connect_timeout, and a dead socket's keepalive comes
  45-75 s after its last frame).
- Writes. Twisted queues every write until the reactor reports the socket
  writable: a reply of a few bytes to a heartbeat took a writer registered
  and removed with the event loop's selector (two epoll_ctl calls) and one
  more trip round the loop. A write to a TCP socket with nothing queued is
  now sent at once, as asyncio's own transports do; what the kernel does not
  take is queued behind it as before, and so is everything after it.
- The listen queue. Twisted listens with a backlog of 50 connections, so when
  thousands of devices come back at once (a restart, a lecture hall's Wi-Fi
  returning) the kernel dropped all but 50 waiting handshakes, 14,000 in one
  5,000-device restart, and each dropped client tried again only after its
  SYN timed out (1 s, 3 s, 7 s...). A socket now listens with a backlog of
  at least LISTEN_BACKLOG (the kernel caps it at net.core.somaxconn).
- Daphne's protocols hash and compare by identity in Python methods, called
  on every look-up of the connection table; object's own (the same identity
  semantics, in C) replace them.
- Garbage collection. With 10,000 sockets the heap holds some four million
  long-lived objects, and a full collection walked them all for about a
  second; transient objects (a heartbeat's request waits 0.5 s for its batch)
  survived long enough to trigger one every half minute or so, and every
  join waiting behind it. What is alive is frozen every FREEZE_SECONDS
  (gc.freeze: the collector no longer walks it; objects freed by their last
  reference go as usual), so collections walk only what is new. Cyclic
  garbage among frozen objects (a closed socket's) waits for the thorough
  collection every FULL_COLLECTION_SECONDS, which unfreezes, collects and
  freezes again: one long pause every ten minutes instead of one a minute.
  The first generation is collected every GC_YOUNG_THRESHOLD allocations
  instead of 700. And the oldest only every GC_OLDEST_THRESHOLD collections
  of the middle one instead of 10: Python skips a full collection only when
  it would walk less than a quarter more than the last one left, and with
  everything frozen the last one left little, so every tenth collection of
  the middle generation walked all that had lived through the half minute
  since the freeze: 100 ms pauses, with 1,000 devices joining, of a process
  whose next freeze takes the same objects out of the walk anyway.
- Autobahn pretty-prints every new connection's settings for a debug log
  line, whether or not debug logging is on: 8 % of the CPU of a reconnect
  storm. The text is now built only if the line is written.
- Lean connections. After a WebSocket upgrade the TCP transport still named
  the HTTP channel that read the handshake as its producer, and so kept it,
  its request, the request's headers and body buffer for the socket's whole
  life; autobahn and daphne kept the parsed handshake too (its raw bytes, a
  header dict, the request object), used only until the socket opens. Those
  are let go once the socket is open: some 2 KB of each idle socket. And each
  connection's input queue, an asyncio.Queue of four deques and an Event
  (3 KB), is an Inbox: a list made only when messages wait, and one future.
  It holds at most MAX_WAITING_FRAMES unread frames of a socket: a client
  flooding while its application waits on the database grew the server by
  27 MB for 5,000 frames, uncounted by the application's flood limit; it is
  closed with 4429 instead.
- Small frames. Every heartbeat went through autobahn's general frame
  machinery both ways: a parser that buffers, walks a state machine frame by
  frame, unmasks through a cffi call and validates UTF-8 incrementally, some
  forty Python calls to read 15 bytes, and as many to frame a pong. Measured
  with no application (bench/stack_floor.py), that was 40 % of what a
  heartbeat cost the server. A read that is exactly one whole, final, masked
  text frame of under 126 bytes, with nothing buffered or half-read before it
  and no compression, is now unmasked and checked in a few lines and handed
  to the protocol's onMessage as autobahn would; anything else (fragments,
  binary, control frames, two frames in one read, invalid UTF-8, a closing
  socket) takes autobahn's own way, which decides what is wrong with it. A
  text or binary message sent on an open socket, unfragmented and
  uncompressed with nothing queued, is framed in one line and written.
- Quick replies. Even read in a few lines, a heartbeat still went through
  daphne's onMessage, an ASGI message, the input queue, a task switch into
  the consumer, its JSON decoding and dispatch, a JSON reply and daphne's
  send: most of what a ping cost above the frame layer. An application may
  now hand its socket's frame layer a quick reply (scope[QUICK_REPLIES], a
  function of the frame's bytes returning the reply's bytes or None). A
  small frame read alone while the application waits for a frame, with
  nothing queued before it, is offered to it first; a reply is sent at once
  and the frame goes no further. Since the application is waiting and
  nothing is queued, a quick reply never overtakes the reply to an earlier
  frame. The device sockets answer their pings this way
  (realtime/device.py); every other frame takes the usual way.
- Reads without the log context. Twisted calls each read of a socket through
  callWithLogger, which copies a log-context dict and pushes it, for the
  legacy log's "system" prefix: after the two changes above, a fifth of the
  Python a heartbeat's read cost. A TCP connection's reads are called
  directly; a read that fails is logged with its prefix as before, and the
  connection closed as Twisted closes it.
- Failing a socket says why. Autobahn fails a connection (a frame over the
  size limit, a protocol error such as an unmasked or reserved-bit frame) by
  dropping TCP, so the client saw 1006 and could not tell a refusal from a
  network fault. It now sends the close frame with autobahn's own code (1009
  too big, 1002 protocol error, 1007 invalid UTF-8) and closes TCP once that
  frame is out, reading nothing more from the socket.
- Inbound size. Daphne lets a frame or message grow to 1 MiB, buffered until
  it is whole, where no client frame of the protocol is over 4 KiB
  (realtime.protocol.MAX_FRAME_BYTES, closed 4400 by the consumer above that).
  A socket that never said hello could make the server hold 1 MiB. Inbound
  frames and messages are now capped at MAX_INBOUND_BYTES (16 KiB; a smaller
  limit given to daphne stays) and failed with 1009 past it.
- Paced wake-ups. With 10,000 devices heartbeating every 20 s, 500 frames a
  second arrive, each at its own moment, and the event loop woke for nearly
  every one: an epoll_wait that blocks and returns one socket, and a turn of
  asyncio's loop around it, some 30 us of CPU before the frame is even read,
  a third of what the process spent. The loop now polls its sockets at most
  once per WAKE_TICK_SECONDS: after a poll it rests until the tick is over
  (never past its next timer), and what arrived meanwhile is read in one wake.
  A call from another thread (a database call's result, call_soon_threadsafe)
  ends the rest at once, so only sockets wait, a frame at most one tick. A
  loop busier than one poll a tick never rests: its work between polls
  outlasts the tick.
- Graceful restart on SIGTERM (realtime/shutdown.py).
"""

import asyncio
import collections
import concurrent.futures
import functools
import gc
import logging
import math
import pprint
import selectors
import sys
import time

from realtime import shutdown

logger = logging.getLogger("daphne.server")

# Server-sent close codes defined by RFC 6455 / IANA that autobahn refuses.
RFC_SERVER_CLOSE_CODES = frozenset({1001, 1011, 1012, 1013})
APP_CHECK_SECONDS = 120.0
TIMEOUT_CHECK_SECONDS = 30.0
SLICE_SECONDS = 0.1
LISTEN_BACKLOG = 4096
# More than two of the devices' 20 s heartbeats.
KEEPALIVE_AFTER_SILENCE = 45.0
GC_YOUNG_THRESHOLD = 5_000
GC_OLDEST_THRESHOLD = 1_000
FREEZE_SECONDS = 30.0
FULL_COLLECTION_SECONDS = 600.0
MAX_INBOUND_BYTES = 16 * 1024
# As many frames as realtime.protocol's flood limit allows in its window.
MAX_WAITING_FRAMES = 32
# A scope's function for its application to hand the frame layer a quick_reply.
QUICK_REPLIES = "rollcall.quick_replies"
# The event loop polls its sockets at most once per tick (paced wake-ups).
WAKE_TICK_SECONDS = 0.01


def install() -> None:
    if "twisted.internet.reactor" not in sys.modules:
        return
    _allow_rfc_close_codes()
    _slower_bookkeeping()
    _send_at_once()
    _deeper_listen_queue()
    _identity_hash()
    _tune_collector()
    _freeze_what_lives()
    _lazy_debug_pformat()
    _lean_connections()
    _small_frames()
    _read_without_log_context()
    _fail_with_a_close_code()
    _cap_inbound_size()
    _pace_wakeups()
    shutdown.install()


class _Pretty:
    """pformat(value), computed when the log line is formatted, if ever."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(pprint.pformat(self.value), spec)

    __str__ = __repr__ = lambda self: pprint.pformat(self.value)


def _lazy_debug_pformat() -> None:
    from autobahn.websocket import protocol

    protocol.pformat = _Pretty


class Inbox:
    """What daphne needs of a connection's input queue: put_nowait() and get(), in order.

    One reader (the application instance). Frames a socket's application has
    not read yet are bounded: a client that keeps sending while its frames wait
    (behind a slow database, say) is past any flood limit the application
    could count, since the application counts frames as it reads them. Past
    MAX_WAITING_FRAMES the socket is closed with 4429 (rate-limited) and the
    frames still waiting are dropped; the disconnect that follows goes through.
    """

    __slots__ = ("_items", "_protocol", "_waiter")

    def __init__(self, protocol=None) -> None:
        self._items: collections.deque | None = None
        self._waiter: asyncio.Future | None = None
        self._protocol = protocol

    def put_nowait(self, item) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done() and not self._items:
            waiter.set_result(item)
            return
        if self._items is None:
            self._items = collections.deque()
        if len(self._items) >= MAX_WAITING_FRAMES and item["type"] == "websocket.receive":
            self._overflowed()
            return
        self._items.append(item)
        if waiter is not None and not waiter.done():
            waiter.set_result(self._items.popleft())

    async def get(self):
        if self._items:
            item = self._items.popleft()
            if not self._items:
                self._items = None
            return item
        self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter

    def qsize(self) -> int:
        return len(self._items or ())

    def _overflowed(self) -> None:
        from realtime.protocol import CLOSE_RATE_LIMITED

        self._items = collections.deque(
            item for item in self._items if item["type"] != "websocket.receive"
        )
        protocol, self._protocol = self._protocol, None
        if protocol is not None:  # only once
            logger.warning("Closing a WebSocket with 4429: %s frames waiting", MAX_WAITING_FRAMES)
            protocol.serverClose(code=CLOSE_RATE_LIMITED)


def _create_application(self, protocol, scope):
    """daphne.server.Server.create_application (daphne 4.2), with an Inbox for a queue."""
    assert "application_instance" not in self.connections[protocol]
    input_queue = Inbox(protocol if scope.get("type") == "websocket" else None)
    if scope.get("type") == "websocket":
        scope[QUICK_REPLIES] = functools.partial(setattr, protocol, "quick_reply")
    scope.setdefault("asgi", {"version": "3.0"})
    application_instance = self.application(
        scope=scope,
        receive=input_queue.get,
        send=functools.partial(self.handle_reply, protocol),
    )
    if protocol not in self.connections:
        return None
    instance = asyncio.ensure_future(application_instance, loop=asyncio.get_event_loop())
    self.connections[protocol]["application_instance"] = instance
    instance.add_done_callback(functools.partial(_instance_done, self, protocol))
    return input_queue


def _instance_done(self, protocol, instance) -> None:
    """An application instance finished: report how, and reap it (and a closed connection)."""
    details = self.connections.get(protocol)
    if details is not None and details.get("application_instance") is instance:
        _application_checker(self, protocol, details)


def _protocol_disconnected(self, protocol) -> None:
    """daphne's Server.protocol_disconnected, reaping at once rather than at the next walk."""
    details = self.connections.get(protocol)
    if details is None:
        return  # reaped already
    details.setdefault("disconnected", time.time())
    instance = details.get("application_instance")
    if instance is None or instance.done():
        _application_checker(self, protocol, details)
    else:
        # Its instance has this long to finish after the disconnect (the
        # done callback reaps it), then it is cancelled.
        asyncio.get_running_loop().call_later(
            self.application_close_timeout + SLICE_SECONDS, _close_timeout_over, self, protocol
        )


def _close_timeout_over(self, protocol) -> None:
    details = self.connections.get(protocol)
    if details is not None:
        _application_checker(self, protocol, details)


class _Handshake:
    """What daphne reads of the handshake request once the socket is open: its path."""

    __slots__ = ("path",)

    def __init__(self, path) -> None:
        self.path = path


def _lean_connections() -> None:
    from daphne.http_protocol import WebRequest
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    process = WebRequest.process
    if getattr(process, "rollcall_patched", False):
        return

    def process_then_let_go(self) -> None:
        process(self)
        if self.transport is not None:
            return  # plain HTTP, or refused: Twisted carries on with it
        # Handed over to a WebSocket protocol: the HTTP channel is done.
        channel = self.channel
        transport = getattr(channel, "transport", None)
        if transport is not None and getattr(transport, "producer", None) is channel:
            transport.unregisterProducer()
        channel.requests.clear()

    def on_open_then_let_go(self) -> None:
        on_open(self)
        self.request = _Handshake(self.request.path)
        self.http_request_data = self.http_headers = self.http_request_params = None

    on_open = WebSocketProtocol.onOpen
    process_then_let_go.rollcall_patched = True
    WebRequest.process = process_then_let_go
    WebSocketProtocol.onOpen = on_open_then_let_go
    Server.create_application = _create_application


def _tune_collector() -> None:
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, GC_OLDEST_THRESHOLD)


def _freeze_what_lives() -> None:
    from twisted.internet import reactor

    last_full = time.monotonic()

    def freeze() -> None:
        nonlocal last_full
        if time.monotonic() - last_full >= FULL_COLLECTION_SECONDS:
            last_full = time.monotonic()
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        reactor.callLater(FREEZE_SECONDS, freeze)

    reactor.callWhenRunning(lambda: reactor.callLater(FREEZE_SECONDS, freeze))


def _allow_rfc_close_codes() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    original = WebSocketProtocol.serverClose
    if getattr(original, "rollcall_patched", False):
        return

    def server_close(self, code=None):
        if code in RFC_SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    server_close.rollcall_patched = True
    WebSocketProtocol.serverClose = server_close


def _sliced(visit, period: float):
    """A checker that visits every connection once per `period` s, a slice at a time."""
    from twisted.internet import reactor

    share = SLICE_SECONDS / period
    pending: list = []

    def run(self) -> None:
        if not pending:
            pending.extend(self.connections)
        count = max(1, math.ceil(len(self.connections) * share))
        batch = pending[:count]
        del pending[:count]
        for protocol in batch:
            details = self.connections.get(protocol)
            if details is not None:
                visit(self, protocol, details)
        reactor.callLater(SLICE_SECONDS, getattr(self, visit.__name__.removeprefix("_")))

    run.rollcall_patched = True
    return run


def _application_checker(self, protocol, details) -> None:
    """daphne.server.Server.application_checker's body (daphne 4.2), for one connection."""
    disconnected = details.get("disconnected", None)
    application_instance = details.get("application_instance", None)
    overdue = disconnected and time.time() - disconnected > self.application_close_timeout
    if overdue and application_instance and not application_instance.done():
        logger.warning(
            "Application instance %r for connection %s took too long to shut down and was killed.",
            application_instance,
            repr(protocol),
        )
        application_instance.cancel()
    if application_instance and application_instance.done():
        try:
            exception = application_instance.exception()
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            pass  # cancelled: nothing to report
        else:
            if exception:
                if isinstance(exception, KeyboardInterrupt):
                    self.stop()
                else:
                    logger.error("Exception inside application: %s", exception, exc_info=exception)
                    if not disconnected:
                        protocol.handle_exception(exception)
        del self.connections[protocol]["application_instance"]
        application_instance = None
    if not application_instance and disconnected:
        del self.connections[protocol]


def _timeout_checker(self, protocol, details) -> None:
    """daphne's WebSocketProtocol.check_timeouts (daphne 4.2), pinging only silent sockets.

    Daphne sends its keepalive ping to a socket that sent nothing for
    --ping-interval (20 s); a device that heartbeats every 20 s got one about
    every other interval, and its pong, for nothing. Here only a socket silent
    for KEEPALIVE_AFTER_SILENCE (and at least --ping-interval) is pinged: the
    lecturer's page, which sends nothing, or a device that went quiet. With
    10,000 sockets this runs 1,000 times a second: one clock read, no imports.
    """
    if not isinstance(protocol, _websocket_protocol):
        protocol.check_timeouts()  # HTTP requests: daphne's own
        return
    now = time.time()
    timeout = self.websocket_timeout
    if timeout >= 0 and now - protocol.socket_opened > timeout:
        protocol.serverClose()
    if protocol.state == protocol.STATE_CONNECTING:
        if now - protocol.socket_opened > self.websocket_connect_timeout:
            protocol.serverReject()
    elif protocol.state == protocol.STATE_OPEN:
        silence = max(self.ping_interval, KEEPALIVE_AFTER_SILENCE)
        if now - protocol.last_ping > silence:
            protocol._sendAutoPing()
            protocol.last_ping = now


_websocket_protocol: type = type(None)  # daphne's WebSocketProtocol, once installed


def _slower_bookkeeping() -> None:
    global _websocket_protocol
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol

    _websocket_protocol = WebSocketProtocol

    if getattr(Server.application_checker, "rollcall_patched", False):
        return
    Server.application_checker = _sliced(_application_checker, APP_CHECK_SECONDS)
    Server.timeout_checker = _sliced(_timeout_checker, TIMEOUT_CHECK_SECONDS)
    Server.protocol_disconnected = _protocol_disconnected


def send_at_once(write):
    """A TCP connection's write that sends at once what nothing is queued ahead of."""

    @functools.wraps(write)
    def write_now(self, data) -> None:
        if (
            type(data) is bytes
            and data
            and not self.TLS
            and self.connected
            and not self.disconnecting
            and not self._writeDisconnected
            and not self._tempDataLen
            and self.offset == len(self.dataBuffer)
        ):
            try:
                sent = self.socket.send(data)
            except OSError:
                # Full (queued below), or broken: Twisted's own write finds
                # out on its next try and closes the connection as usual.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        write(self, data)

    write_now.rollcall_patched = True
    return write_now


def _send_at_once() -> None:
    from twisted.internet import tcp, unix

    if getattr(tcp.Server.write, "rollcall_patched", False):
        return
    original = tcp.Server.write
    tcp.Server.write = send_at_once(original)
    # A Unix socket may carry file descriptors with its writes: Twisted's own.
    unix.Server.write = original


def _identity_hash() -> None:
    from daphne.http_protocol import WebRequest
    from daphne.ws_protocol import WebSocketProtocol

    for protocol in (WebRequest, WebSocketProtocol):
        protocol.__hash__ = object.__hash__
        protocol.__eq__ = object.__eq__


def listen_deeper(start_listening):
    """A port's startListening with a backlog of at least LISTEN_BACKLOG."""

    @functools.wraps(start_listening)
    def start(self) -> None:
        self.backlog = max(self.backlog, LISTEN_BACKLOG)
        start_listening(self)

    start.rollcall_patched = True
    return start


def fail_with_a_close_code(fail_connection):
    """A protocol's _fail_connection that sends its close frame before closing TCP."""
    from autobahn.util import encode_truncate
    from autobahn.websocket.protocol import WebSocketProtocol

    open_state = WebSocketProtocol.STATE_OPEN

    @functools.wraps(fail_connection)
    def fail(self, code=WebSocketProtocol.CLOSE_STATUS_CODE_GOING_AWAY, reason="going away"):
        if not (self.failByDrop and self.state == open_state):
            return fail_connection(self, code, reason)
        logger.info("Failing a WebSocket with %s: %s", code, reason)
        self.failedByMe = True
        self.sendCloseFrame(code=code, reasonUtf8=encode_truncate(reason, 123), isReply=False)
        self.wasClean = False
        self.wasNotCleanReason = f"failed with {code}: {reason}"
        # Not an abort: the close frame is flushed, then TCP closed; nothing more is read.
        self.dropConnection(abort=False)
        return None

    fail.rollcall_patched = True
    return fail


def _fail_with_a_close_code() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    if not getattr(WebSocketProtocol._fail_connection, "rollcall_patched", False):
        WebSocketProtocol._fail_connection = fail_with_a_close_code(
            WebSocketProtocol._fail_connection
        )


def capped_options(set_protocol_options):
    """A factory's setProtocolOptions that keeps inbound sizes within MAX_INBOUND_BYTES."""

    @functools.wraps(set_protocol_options)
    def set_options(self, *args, **kwargs):
        for name in ("maxFramePayloadSize", "maxMessagePayloadSize"):
            given = kwargs.get(name)
            if given is not None:
                kwargs[name] = MAX_INBOUND_BYTES if given <= 0 else min(given, MAX_INBOUND_BYTES)
        return set_protocol_options(self, *args, **kwargs)

    set_options.rollcall_patched = True
    return set_options


def _cap_inbound_size() -> None:
    from daphne.ws_protocol import WebSocketFactory

    if not getattr(WebSocketFactory.setProtocolOptions, "rollcall_patched", False):
        WebSocketFactory.setProtocolOptions = capped_options(WebSocketFactory.setProtocolOptions)


def _deeper_listen_queue() -> None:
    from twisted.internet import tcp, unix

    for port in (tcp.Port, unix.Port):
        if not getattr(port.startListening, "rollcall_patched", False):
            port.startListening = listen_deeper(port.startListening)


def read_small_frames(data_received):
    """A protocol's dataReceived that reads one small text frame itself (module docstring)."""
    from autobahn.websocket.protocol import WebSocketProtocol

    open_state = WebSocketProtocol.STATE_OPEN

    @functools.wraps(data_received)
    def read(self, data: bytes) -> None:
        n = len(data) - 6
        if (
            0 <= n < 126
            and data[0] == 0x81  # FIN, no RSV bits, text
            and data[1] == 0x80 | n  # masked, this length
            and self.state == open_state
            and not self.data
            and self.current_frame is None
            and not self.inside_message
            and self._perMessageCompress is None
            and not 0 < self.maxFramePayloadSize < n
            and not self.logOctets
            and not self.logFrames
        ):
            mask = int.from_bytes((data[2:6] * (n // 4 + 1))[:n], "big")
            payload = (int.from_bytes(data[6:], "big") ^ mask).to_bytes(n, "big")
            try:
                payload.decode()
            except UnicodeDecodeError:
                pass  # autobahn fails the connection with its own close code
            else:
                # What autobahn's parser counts and does for a whole data frame.
                stats = self.trafficStats
                stats.incomingOctetsWireLevel += n + 6
                stats.incomingOctetsWebSocketLevel += n
                stats.incomingOctetsAppLevel += n
                stats.incomingWebSocketFrames += 1
                stats.incomingWebSocketMessages += 1
                if self.autoPingTimeoutCall and self.autoPingRestartOnAnyTraffic:
                    self._cancelAutoPingTimeoutCall()  # any data frame answers a keepalive ping
                if self.quick_reply is not None and not self.muted:
                    # Only while the application waits for a frame with none queued:
                    # a reply can then never overtake the reply to an earlier frame.
                    waiter = self.application_queue._waiter
                    if waiter is not None and not waiter.done():
                        reply = self.quick_reply(payload)
                        if reply is not None:
                            self.last_ping = time.time()  # as daphne's onMessage does
                            self.sendMessage(reply)
                            return
                self.onMessage(payload, False)
                return
        data_received(self, data)

    read.rollcall_patched = True
    return read


def send_small_frames(send_message):
    """A protocol's sendMessage that frames a whole message itself (module docstring).

    The inbound size cap (capped_options) is for what clients send; autobahn
    applies maxMessagePayloadSize to sends too, so a lecturer's snapshot over
    16 KiB raised and closed the socket with 1011. A send is never held to it.
    """
    from autobahn.websocket.protocol import WebSocketProtocol

    open_state = WebSocketProtocol.STATE_OPEN

    @functools.wraps(send_message)
    def send(self, payload, isBinary=False, fragmentSize=None, sync=False, doNotCompress=False):
        n = len(payload)
        if (
            type(payload) is bytes
            and self.state == open_state
            and fragmentSize is None
            and not sync
            and not self.send_queue
            and self._perMessageCompress is None
            and not self.autoFragmentSize
            and not self.logOctets
            and not self.logFrames
        ):
            opcode = 0x82 if isBinary else 0x81
            if n < 126:
                length = bytes((n,))
            elif n < 65536:
                length = b"\x7e" + n.to_bytes(2, "big")
            else:
                length = b"\x7f" + n.to_bytes(8, "big")
            header = bytes((opcode,)) + length
            stats = self.trafficStats
            stats.outgoingOctetsWireLevel += len(header) + n
            stats.outgoingOctetsWebSocketLevel += n
            stats.outgoingOctetsAppLevel += n
            stats.outgoingWebSocketFrames += 1
            stats.outgoingWebSocketMessages += 1
            self.transport.write(header + payload)
            return
        limit, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
        try:
            send_message(self, payload, isBinary, fragmentSize, sync, doNotCompress)
        finally:
            self.maxMessagePayloadSize = limit

    send.rollcall_patched = True
    return send


def read_without_log_context(add_reader):
    """The reactor's addReader, calling a TCP connection's read without Twisted's log context.

    Twisted calls every read through callWithLogger, which copies a log
    context dict and pushes it for the legacy log's "system" prefix: a
    quarter of what reading a heartbeat cost in Python. A TCP connection's
    reads are called directly; a failure is logged with its prefix as before.
    """
    from twisted.internet import tcp
    from twisted.python.log import err

    def read_now(reactor, reader) -> None:
        try:
            reactor._readOrWrite(reader, True)
        except KeyboardInterrupt:
            raise
        except BaseException:
            err(system=reader.logPrefix())

    @functools.wraps(add_reader)
    def add(self, reader) -> None:
        if type(reader) is not tcp.Server or reader in self._readers:
            add_reader(self, reader)
            return
        fd = reader.fileno()
        try:
            self._asyncioEventloop.add_reader(fd, read_now, self, reader)
        except OSError:
            self._unregisterFDInAsyncio(fd)
            add_reader(self, reader)  # Twisted's way, with its fallbacks
            return
        self._readers[reader] = fd

    add.rollcall_patched = True
    return add


def _read_without_log_context() -> None:
    from twisted.internet.asyncioreactor import AsyncioSelectorReactor

    if getattr(AsyncioSelectorReactor.addReader, "rollcall_patched", False):
        return
    AsyncioSelectorReactor.addReader = read_without_log_context(AsyncioSelectorReactor.addReader)


def _small_frames() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol.dataReceived, "rollcall_patched", False):
        return
    WebSocketProtocol.dataReceived = read_small_frames(WebSocketProtocol.dataReceived)
    WebSocketProtocol.quick_reply = None
    WebSocketProtocol.sendMessage = send_small_frames(WebSocketProtocol.sendMessage)


def paced_select(select, tick: float, woken, clock=time.monotonic):
    """A selector's select that polls at most once per tick unless woken from a thread.

    select(timeout) is the selector's own; woken(seconds) waits up to that long
    for a call from another thread and says whether one came. A poll asked for
    within a tick of the last one first rests for the rest of the tick, or until
    the timeout the loop gave (its next timer) if that comes first; a wake from
    a thread ends the rest and the poll takes what is ready without waiting.
    """
    last = -math.inf

    def select_paced(timeout=None):
        nonlocal last
        if timeout is None or timeout > 0:
            rest = last + tick - clock()
            if rest > 0:
                if timeout is not None:
                    rest = min(rest, timeout)
                if woken(rest):
                    timeout = 0
                elif timeout is not None:
                    timeout = max(0.0, timeout - rest)
        events = select(timeout)
        last = clock()
        return events

    select_paced.rollcall_patched = True
    return select_paced


def pace_wakeups(loop: asyncio.AbstractEventLoop, tick: float = WAKE_TICK_SECONDS):
    """Pace a selector event loop's polls (paced_select); returns the selector it rests on.

    The rest waits on the loop's self-pipe alone, which call_soon_threadsafe
    (and a signal) writes to, so a wake from a thread ends it. The caller
    closes the returned selector after the loop.
    """
    selector, self_pipe = getattr(loop, "_selector", None), getattr(loop, "_ssock", None)
    if selector is None or self_pipe is None:
        # Not asyncio's selector loop (uvloop, say): it runs as it is.
        logger.warning("Wake-ups are not paced: %s has no selector to pace", type(loop).__name__)
        return None
    if getattr(selector.select, "rollcall_patched", False):
        return None
    thread_calls = selectors.DefaultSelector()
    thread_calls.register(self_pipe.fileno(), selectors.EVENT_READ)
    selector.select = paced_select(
        selector.select, tick, lambda seconds: bool(thread_calls.select(seconds))
    )
    return thread_calls


def _pace_wakeups() -> None:
    from twisted.internet import reactor

    pace_wakeups(reactor._asyncioEventloop)
