"""The one door to the channel layer from synchronous code.

Every send is deferred with transaction.on_commit, so nothing is announced for
a change that rolls back. The caller (a service function) builds the
event from its own data and decides the recipients by naming the groups;
group names are built here from ids only. This module imports no app: it
sends what it is given.

Count updates are coalesced per session in each process (CountsPublisher):
a burst of 1,000 joins costs a handful of count queries and pushes, not
1,000. Each push carries a version taken from the shared cache, so a
subscriber fed by several processes keeps the newest value (see
realtime/coalesce.py for the subscriber's side of the 10-a-second limit).
"""

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, transaction

logger = logging.getLogger("rollcall.realtime")

STAFF_GROUP = "courses-all"
COUNTS_PER_SECOND = 10  # count pushes per session that a subscriber gets at most
COUNTS_INTERVAL = 1 / COUNTS_PER_SECOND  # seconds between one process's readings
ROSTERS_PER_SECOND = 2  # name lists (session.roster) per session a subscriber gets at most
SEND_TIMEOUT = 5.0


def course_group(course_id: int) -> str:
    return f"course-{int(course_id)}"


def session_devices_group(session_id: int) -> str:
    return f"session-{int(session_id)}-devices"


def device_group(device_id: int) -> str:
    return f"device-{int(device_id)}"


def course_audience(course_id: int) -> list[str]:
    """Who hears about a course: its lecturers' sockets and every staff socket."""
    return [course_group(course_id), STAFF_GROUP]


# --- Getting onto the event loop --------------------------------------------------------
# The server's sockets live on one event loop. A send from a thread of its
# own (the sweeper, the counts timer) must run on that loop: the in-memory
# layer only works there, and the Redis layers reuse that loop's connection
# instead of opening one per send.

_server_loop: asyncio.AbstractEventLoop | None = None


def remember_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by each consumer as it connects."""
    global _server_loop
    _server_loop = loop


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("Could not publish", exc_info=future.exception())


def _run(make: Callable[[], Awaitable]) -> None:
    loop = _server_loop
    if loop is not None and loop.is_running() and not _on_loop_thread(loop):
        # Handed to the loop without waiting: the database thread that
        # committed must not stall behind the sockets (a burst of joins), and
        # sends from one thread still reach the loop in order.
        asyncio.run_coroutine_threadsafe(make(), loop).add_done_callback(_log_failure)
    else:
        async_to_sync(make)()


def _send_now(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, message)

    try:
        _run(send_all)
    except Exception:
        # The database is the truth and clients re-read it on reconnect; a
        # lost push must never undo or fail the committed change.
        logger.exception("Could not publish %s to %s", message.get("type"), groups)


def publish(groups: list[str], message: dict) -> None:
    """Send `message` to `groups` once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(groups, message))


# --- Coalesced counts ---------------------------------------------------------------------


CountsReader = Callable[[], dict]


class CountsPublisher:
    """Per session: the first change after a quiet spell is sent at once, later
    ones are folded into one trailing send `interval` after the previous send.

    The caller hands over `read`, which builds the event from the database
    when the send happens, so a trailing send carries the latest counts.
    """

    def __init__(
        self, interval: float = COUNTS_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last_sent: dict[int, float] = {}
        self._pending: dict[int, threading.Timer] = {}
        self._live: set[threading.Timer] = set()  # waiting or sending

    def changed(self, *, session_id: int, groups: list[str], read: CountsReader) -> None:
        with self._lock:
            if session_id in self._pending:
                return  # the trailing send will read the latest counts
            wait = self._last_sent.get(session_id, -1e9) + self.interval - self.clock()
            if wait > 0:
                timer = threading.Timer(wait, self._flush, args=(session_id, groups, read))
                timer.daemon = True
                self._pending[session_id] = timer
                self._live.add(timer)
                timer.start()
                return
            self._last_sent[session_id] = self.clock()
        self._send(session_id, groups, read)

    def forget(self, session_id: int) -> None:
        """The session ended: a count still waiting would only arrive after session.ended."""
        with self._lock:
            self._last_sent.pop(session_id, None)
            timer = self._pending.pop(session_id, None)
            if timer is not None:
                self._live.discard(timer)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Drop every waiting send and wait for one in flight (tests, shutdown)."""
        with self._lock:
            timers = list(self._live)
            self._pending.clear()
        for timer in timers:
            timer.cancel()
            timer.join(timeout=SEND_TIMEOUT)

    def _flush(self, session_id: int, groups: list[str], read: CountsReader) -> None:
        with self._lock:
            self._pending.pop(session_id, None)
            self._last_sent[session_id] = self.clock()
        try:
            self._send(session_id, groups, read)
        finally:
            connections.close_all()  # this timer thread's own connection
            with self._lock:
                self._live.discard(threading.current_thread())

    def _send(self, session_id: int, groups: list[str], read: CountsReader) -> None:
        try:
            event = read()
        except Exception:
            logger.exception("Could not read the counts of session %s", session_id)
            return
        _send_now(groups, event)


counts_publisher = CountsPublisher()


def publish_counts(*, session_id: int, groups: list[str], read: CountsReader) -> None:
    """Once the transaction commits, send the counts `read()` builds to `groups`, coalesced."""
    transaction.on_commit(
        lambda: counts_publisher.changed(session_id=session_id, groups=groups, read=read)
    )


# Name lists are coalesced the same way, less often: they are longer and change
# only when a student first checks in.
roster_publisher = CountsPublisher(interval=1 / ROSTERS_PER_SECOND)


def publish_roster(*, session_id: int, groups: list[str], read: CountsReader) -> None:
    """Once the transaction commits, send the name list `read()` builds to `groups`, coalesced."""
    transaction.on_commit(
        lambda: roster_publisher.changed(session_id=session_id, groups=groups, read=read)
    )


def forget_counts(*, session_id: int) -> None:
    """Once the transaction commits, drop a count or name-list send still waiting: the
    session ended."""

    def forget() -> None:
        counts_publisher.forget(session_id)
        roster_publisher.forget(session_id)

    transaction.on_commit(forget)
