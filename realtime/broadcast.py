"""The one door to the channel layer from synchronous code.

Every send is deferred with transaction.on_commit, so nothing is announced for
a change that rolls back. The caller (a service function) builds the
event from its own data and decides the recipients by naming the groups;
group names are built here from ids (or a hash) only. This module imports no app: it
sends what it is given.

Count updates are coalesced per session in each process (CountsPublisher):
a burst of 1,000 joins costs a handful of count queries and pushes, not
1,000. Each push carries a version taken from the shared cache, so a
subscriber fed by several processes keeps the newest value (see
realtime/coalesce.py for the subscriber's side of the 10-a-second limit).

A publish that fails (Redis restarting) is not lost: an event is tried again
every RETRY_SECONDS, in order, and a count is read again and resent. Each
group is tried on its own, so one failure does not skip the other groups.
"""

import asyncio
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, transaction

from realtime import metrics
from realtime.db import DB_DOWN

logger = logging.getLogger("rollcall.realtime")

STAFF_GROUP = "courses-all"
COUNTS_PER_SECOND = 10  # count pushes per session that a subscriber gets at most
COUNTS_INTERVAL = 1 / COUNTS_PER_SECOND  # seconds between one process's readings
ROSTERS_PER_SECOND = 2  # name lists (session.roster) per session a subscriber gets at most
SEND_TIMEOUT = 5.0
RETRY_SECONDS = 0.5  # between tries of a publish that failed
GIVE_UP_SECONDS = 300.0


def course_group(course_id: int) -> str:
    return f"course-{int(course_id)}"


def session_devices_group(session_id: int) -> str:
    return f"session-{int(session_id)}-devices"


def device_group(device_id: int) -> str:
    return f"device-{int(device_id)}"


def api_token_group(token_id: int) -> str:
    """The sockets signed in with one API token: closed when it is revoked."""
    return f"api-token-{int(token_id)}"


def end_credentials(groups: list[str]) -> None:
    """The sockets signed in by these credentials (web sessions, API tokens: the groups
    above) close, 4401: the credentials ended."""
    if groups:
        publish(groups, {"type": "credential.ended"})


def web_session_group(session_key: str) -> str:
    """The sockets signed in by one web session's cookie: closed when it ends. Named by a
    hash, so that the key itself never travels through the channel layer."""
    return f"web-session-{hashlib.sha256(session_key.encode()).hexdigest()[:32]}"


def course_audience(course_id: int) -> list[str]:
    """Who hears about a course: its lecturers' sockets and every staff socket."""
    return [course_group(course_id), STAFF_GROUP]


# --- Getting onto the event loop --------------------------------------------------------
# The server's sockets live on one event loop. A send from a thread of its
# own (the sweeper, the count publishers) must run on that loop: the in-memory
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


def _run(make: Callable[[], Awaitable[list[str]]], finished: Callable[[list[str]], None]) -> None:
    """Run the publish `make()` on the server loop (or here) and pass its failures on."""
    loop = _server_loop
    if loop is not None and loop.is_running() and not _on_loop_thread(loop):
        # Handed to the loop without waiting: the database thread that
        # committed must not stall behind the sockets (a burst of joins), and
        # sends from one thread still reach the loop in order.
        future = asyncio.run_coroutine_threadsafe(make(), loop)

        def done(future) -> None:
            if not future.cancelled():
                finished(future.result())

        future.add_done_callback(done)
    else:
        finished(async_to_sync(make)())


async def _publish(layer, groups: list[str], message: dict) -> list[str]:
    """group_send to each group; the groups that failed (each one is tried, whatever failed)."""
    failed = []
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception as exc:
            failed.append(group)
            metrics.PUBLISH_FAILURES.inc()
            logger.warning("Could not publish %s to %s: %r", message.get("type"), group, exc)
    return failed


def _send_now(
    groups: list[str],
    message: dict,
    *,
    on_failure: Callable[[], None] | None = None,
    on_success: Callable[[], None] | None = None,
    retrying: bool = False,
) -> None:
    """Publish now; what fails goes to `on_failure`, or else is tried again later (retries)."""
    layer = get_channel_layer()
    if layer is None:
        return
    if not retrying and retries.waiting():
        # Behind earlier failures, so that listeners get events in order.
        if on_failure is not None:
            on_failure()
        else:
            retries.add(groups, message)
        return

    def finished(failed: list[str]) -> None:
        if not failed:
            if on_success is not None:
                on_success()
            return
        if on_failure is not None:
            on_failure()
        else:
            retries.add(failed, message)

    try:
        _run(functools.partial(_publish, layer, groups, message), finished)
    except Exception:
        # The database is the truth and clients re-read it on reconnect; a
        # lost push must never undo or fail the committed change.
        logger.exception("Could not publish %s to %s", message.get("type"), groups)


def publish(groups: list[str], message: dict) -> None:
    """Send `message` to `groups` once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(groups, message))


# --- Publishes that failed ----------------------------------------------------------------


class PublishRetries:
    """Events whose publish failed (Redis restarting), sent again in order until it works.

    A listener that was cut off too re-reads the database when its own
    connection comes back (realtime/layer.py); this covers the others, whose
    subscription never broke but who missed what this process could not send.
    After `give_up` seconds an event is dropped (and logged): by then every
    listener has re-read the database.
    """

    def __init__(self, interval: float = RETRY_SECONDS, give_up: float = GIVE_UP_SECONDS) -> None:
        self.interval = interval
        self.give_up = give_up
        self._lock = threading.Lock()
        self._pending: list[tuple[list[str], dict, float]] = []
        self._timer: threading.Timer | None = None
        self._busy = False  # a round is being sent

    def waiting(self) -> bool:
        return self._busy or bool(self._pending)

    def add(self, groups: list[str], message: dict, since: float | None = None) -> None:
        with self._lock:
            self._pending.append((groups, message, since or time.monotonic()))
            if self._timer is None:
                self._timer = threading.Timer(self.interval, self._retry)
                self._timer.daemon = True
                self._timer.start()

    def _retry(self) -> None:
        with self._lock:
            batch, self._pending, self._timer = self._pending, [], None
            self._busy = True
        try:
            self._send_batch(batch)
        finally:
            self._busy = False

    def _send_batch(self, batch: list[tuple[list[str], dict, float]]) -> None:
        for index, (groups, message, since) in enumerate(batch):
            if time.monotonic() - since > self.give_up:
                logger.error("Gave up publishing %s to %s", message.get("type"), groups)
                continue
            failed = self._send(groups, message)
            if failed:
                # Still down: this one and the rest wait for the next round, in order.
                with self._lock:
                    self._pending[:0] = [(failed, message, since), *batch[index + 1 :]]
                    if self._timer is None:
                        self._timer = threading.Timer(self.interval, self._retry)
                        self._timer.daemon = True
                        self._timer.start()
                return

    def _send(self, groups: list[str], message: dict) -> list[str]:
        """Publish and wait for the outcome (this is the retry thread: waiting is fine)."""
        layer = get_channel_layer()
        outcome: list[list[str]] = []
        done = threading.Event()

        def finished(failed: list[str]) -> None:
            outcome.append(failed)
            done.set()

        try:
            _run(functools.partial(_publish, layer, groups, message), finished)
        except Exception:
            logger.exception("Could not publish %s to %s", message.get("type"), groups)
            return groups
        if not done.wait(SEND_TIMEOUT):
            return groups
        return outcome[0]

    def clear(self) -> None:
        """Drop everything waiting (tests)."""
        with self._lock:
            self._pending = []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


retries = PublishRetries()


# --- Coalesced counts ---------------------------------------------------------------------


CountsReader = Callable[[], dict]


def reads_many(many: Callable[[list[dict]], list]) -> Callable[[CountsReader], CountsReader]:
    """Mark `read(**kwargs)` as a reader whose readings of several sessions
    `many([kwargs, ...])` takes in one call (a result or an exception each, in order).

    A publisher reads the sessions due at the same moment together: a hundred
    classes starting at nine cost one reading, not a hundred.
    """

    def mark(read):
        read.many = many
        return read

    return mark


class CountsPublisher:
    """Per session: the first change after a quiet spell is sent at once, later
    ones are folded into one trailing send `interval` after the previous send.

    The caller hands over `read`, which builds the event from the database
    when the send happens, so a trailing send carries the latest counts.
    One thread of the publisher's own does every reading and send (on
    PostgreSQL; see _reads_where_written for SQLite): a change only marks its
    session due, so the thread that committed it (a batch of joins) never
    waits for a reading, and sessions due together are read together when
    `read` is a functools.partial of a `reads_many` reader.
    """

    def __init__(
        self,
        interval: float = COUNTS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        *,
        timed: bool = True,
    ) -> None:
        self.interval = interval
        self.clock = clock
        # Whether its pushes feed the join -> push latency histogram (counts do).
        self.timed = timed
        self._cond = threading.Condition()  # guards everything below
        self._last_sent: dict[int, float] = {}
        # Per session waiting to be sent: when (time.monotonic()), to whom, how to read.
        self._due: dict[int, tuple[float, list[str], CountsReader]] = {}
        # When the oldest change not yet published happened, per session.
        self._since: dict[int, float] = {}
        self._ended: set[int] = set()
        self._worker: threading.Thread | None = None
        self._generation = 0  # a worker of an older generation stops (close)
        self._busy = False  # the worker is reading or sending a batch

    def changed(self, *, session_id: int, groups: list[str], read: CountsReader) -> None:
        with self._cond:
            self._since.setdefault(session_id, time.monotonic())
            if session_id in self._due:
                return  # the waiting send will read the latest counts
            wait = self._last_sent.get(session_id, -1e9) + self.interval - self.clock()
            if wait > 0 or not _reads_where_written():
                self._due[session_id] = (time.monotonic() + max(wait, 0.0), groups, read)
                self._wake()
                return
            batch = [self._taken(session_id, groups, read)]
        self._send_batch(batch)

    def forget(self, session_id: int) -> None:
        """The session ended: a count still waiting would only arrive after session.ended."""
        with self._cond:
            self._ended.add(session_id)
            self._last_sent.pop(session_id, None)
            self._since.pop(session_id, None)
            self._due.pop(session_id, None)

    def flush(self, timeout: float = SEND_TIMEOUT) -> bool:
        """Wait until nothing is waiting or being sent (a command about to exit); False
        if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self) -> None:
        """Drop every waiting send and wait for one in flight (tests, shutdown)."""
        with self._cond:
            self._due.clear()
            self._generation += 1
            worker, self._worker = self._worker, None
            self._cond.notify_all()
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=SEND_TIMEOUT)

    def _wake(self) -> None:
        """Under the lock: the worker looks at what is due (started on first use)."""
        if self._worker is None:
            self._generation += 1
            self._worker = threading.Thread(
                target=self._work, args=(self._generation,), name="counts-publisher", daemon=True
            )
            self._worker.start()
        self._cond.notify_all()

    def _work(self, generation: int) -> None:
        while (batch := self._next_batch(generation)) is not None:
            try:
                self._send_batch(batch)
            except Exception:  # the thread must outlive one bad round
                logger.exception("Could not send %d count readings", len(batch))
            finally:
                connections.close_all()  # this thread's own connection, back to the pool
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _next_batch(
        self, generation: int
    ) -> list[tuple[int, list[str], CountsReader, float | None]] | None:
        """Wait for the sessions due now and take them; None once closed."""
        with self._cond:
            while generation == self._generation:
                now = time.monotonic()
                ready = [s for s, (at, _g, _r) in self._due.items() if at <= now]
                if ready:
                    batch = [self._taken(s, *self._due.pop(s)[1:]) for s in ready]
                    self._busy = True
                    return batch
                soonest = min((at for at, _g, _r in self._due.values()), default=None)
                self._cond.wait(None if soonest is None else soonest - now)
            return None

    def _taken(
        self, session_id: int, groups: list[str], read: CountsReader
    ) -> tuple[int, list[str], CountsReader, float | None]:
        """Under the lock: the session's send starts now; what it needs to run."""
        self._last_sent[session_id] = self.clock()
        return session_id, groups, read, self._since.pop(session_id, None)

    def _send_batch(self, batch: list[tuple[int, list[str], CountsReader, float | None]]) -> None:
        events = _read_all([(session_id, read) for session_id, _g, read, _s in batch])
        for session_id, groups, read, since in batch:
            event = events[session_id]
            if isinstance(event, DB_DOWN):
                # The database is away (restarting): read again once it is back.
                logger.warning("Could not read the counts of session %s: %s", session_id, event)
                self._retry_later(session_id, groups, read, since)
            elif isinstance(event, BaseException):
                logger.error("Could not read the counts of session %s", session_id, exc_info=event)
            else:
                self._publish(session_id, groups, read, since, event)

    def _publish(
        self,
        session_id: int,
        groups: list[str],
        read: CountsReader,
        since: float | None,
        event: dict,
    ) -> None:
        def sent() -> None:
            if self.timed and since is not None:
                metrics.JOIN_PUSH_SECONDS.observe(time.monotonic() - since)

        def failed() -> None:
            self._retry_later(session_id, groups, read, since)

        _send_now(groups, event, on_failure=failed, on_success=sent)

    def _retry_later(
        self, session_id: int, groups: list[str], read: CountsReader, since: float | None
    ) -> None:
        """The layer refused the reading: read again (the counts may have moved) and resend."""
        with self._cond:
            if session_id in self._ended:
                return
            if since is not None:
                self._since[session_id] = min(since, self._since.get(session_id, since))
            if session_id in self._due:
                return
            self._due[session_id] = (time.monotonic() + RETRY_SECONDS, groups, read)
            self._wake()


def _reads_where_written() -> bool:
    """Whether a leading send reads in the thread that made the change (SQLite).

    SQLite allows one writer at a time, and the tests' shared in-memory
    database refuses a write at once while another thread reads the table;
    there, as for the sockets' own calls (realtime/db.py), the first reading
    stays in the thread that just wrote. PostgreSQL leaves it to the worker.
    """
    return connections["default"].vendor != "postgresql"


def _read_all(readers: list[tuple[int, CountsReader]]) -> dict[int, dict | BaseException]:
    """Each session's event, or the exception its reading raised; `reads_many` readers
    of one kind are read in one call."""
    events: dict[int, dict | BaseException] = {}
    together: dict[Callable, list[tuple[int, dict]]] = {}
    for session_id, read in readers:
        many = getattr(getattr(read, "func", None), "many", None)
        if many is not None and not read.args:
            together.setdefault(many, []).append((session_id, read.keywords))
            continue
        try:
            events[session_id] = read()
        except Exception as exc:
            events[session_id] = exc
    for many, calls in together.items():
        try:
            results = many([keywords for _s, keywords in calls])
        except Exception as exc:  # the whole reading failed: each session hears why
            results = [exc] * len(calls)
        for (session_id, _k), result in zip(calls, results, strict=True):
            events[session_id] = result
    return events


counts_publisher = CountsPublisher()


def publish_counts(*, session_id: int, groups: list[str], read: CountsReader) -> None:
    """Once the transaction commits, send the counts `read()` builds to `groups`, coalesced."""
    transaction.on_commit(
        lambda: counts_publisher.changed(session_id=session_id, groups=groups, read=read)
    )


# Name lists are coalesced the same way, less often: they are longer and change
# only when a student first checks in.
roster_publisher = CountsPublisher(interval=1 / ROSTERS_PER_SECOND, timed=False)


def flush_publishers(timeout: float = SEND_TIMEOUT) -> None:
    """Send the counts and name lists still waiting: a one-shot command (cleanup_sessions)
    calls this before it returns, since the publishers' threads die with the process."""
    for publisher in (counts_publisher, roster_publisher):
        if not publisher.flush(timeout):
            logger.warning("Count pushes still waiting after %.0f s", timeout)


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
