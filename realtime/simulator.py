"""Simulated student devices speaking the /ws/device/ protocol (DESIGN §4).

`manage.py simulate_devices` uses them so a lecturer can watch the live
dashboard fill up alone, and bench/ drives them to measure the real-time path.
Preparing the devices (registering or reusing them) needs the database; the
sockets themselves are plain protocol clients that only need the URL.
"""

import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.db import connection
from django.db.models import F
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from attendance.devices import (
    DeviceLimitReached,
    authenticate_device,
    register_device,
    revoke_device,
)
from attendance.models import Course, Device, Student

SIMULATOR_DEVICE_NAME = "Simulated device"
DEVICE_PATH = "/ws/device/"
CLOSE_ENDED = 4000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_REPLACED = 4409
CLOSE_SERVICE_RESTART = 1012
# After a graceful restart (1012) a device comes back within this many seconds, at random.
RESTART_JITTER = 1.0
# A join answered "unavailable" (the server lost its database) is sent again after
# UNAVAILABLE_RETRY_MIN + up to UNAVAILABLE_RETRY_SPREAD seconds, at most this often.
UNAVAILABLE_RETRY_MIN = 1.0
UNAVAILABLE_RETRY_SPREAD = 2.0
MAX_UNAVAILABLE_RETRIES = 30
REPLY_TIMEOUT = 10.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Consecutive failed attempts (no join in between) before a device gives up.
MAX_CONNECT_FAILURES = 6


class SimulatorError(Exception):
    """A setup problem worth a clear message (bad URL, too few students)."""


@dataclass(frozen=True)
class DeviceCredentials:
    device: str
    token: str
    student: str


def device_socket_url(url: str) -> str:
    """`ws://host:port` (or a full `.../ws/device/` URL) as the device socket's URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SimulatorError(f"{url!r} is not a usable URL: {exc}") from None
    if parts.scheme not in {"ws", "wss"} or not parts.hostname:
        raise SimulatorError(f"{url!r} is not a WebSocket URL; use ws://host:port or wss://host.")
    if port == 0:
        raise SimulatorError(f"{url!r} has no usable port.")
    path = parts.path if parts.path not in {"", "/"} else DEVICE_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


# --- Preparing devices (database) ------------------------------------------------


def _state_key() -> str:
    settings_dict = connection.settings_dict
    return f"{connection.vendor}:{settings_dict.get('HOST') or ''}:{settings_dict['NAME']}"


def _load_state(path: Path | None) -> dict:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # an unreadable state file only costs re-registering
    return data if isinstance(data, dict) else {}


def _save_state(path: Path | None, state: dict) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # The file holds device tokens: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    tmp.replace(path)


def simulated_students(*, course: Course) -> list[Student]:
    """The course's active students in the order the simulator uses them.

    Students with a login of their own come last: their real phone needs the
    free device slot more than the simulator does.
    """
    return list(
        Student.objects.filter(enrollments__course=course, is_active=True).order_by(
            F("user_id").asc(nulls_first=True), "student_number"
        )
    )


def prepare_devices(
    *, students: list[Student], count: int, state_path: Path | None
) -> list[DeviceCredentials]:
    """One device for each of the first `count` students that can have one.

    Devices kept in the state file are reused while they still authenticate.
    Otherwise the student's old simulator devices are revoked and a new one is
    registered through register_device, so the device limit holds; students
    whose slots are all taken by real devices are skipped.
    """
    state = _load_state(state_path)
    known = state.setdefault(_state_key(), {})
    prepared: list[DeviceCredentials] = []
    for student in students:
        if len(prepared) == count:
            break
        saved = known.get(student.student_number)
        if saved and authenticate_device(public_id=saved["device"], token=saved["token"]):
            prepared.append(
                DeviceCredentials(saved["device"], saved["token"], student.student_number)
            )
            continue
        for old in Device.objects.filter(
            student=student, is_active=True, name=SIMULATOR_DEVICE_NAME
        ):
            revoke_device(device=old)
        try:
            device, token = register_device(student=student, name=SIMULATOR_DEVICE_NAME)
        except DeviceLimitReached:
            continue
        known[student.student_number] = {"device": str(device.public_id), "token": token}
        prepared.append(DeviceCredentials(str(device.public_id), token, student.student_number))
    _save_state(state_path, state)
    if len(prepared) < count:
        raise SimulatorError(
            f"Only {len(prepared)} of the {count} devices could be prepared: the other students "
            "already have their maximum of active devices."
        )
    return prepared


# --- One device's socket ------------------------------------------------------------


class ProtocolError(Exception):
    """The server answered with something the protocol does not allow here."""


class DeviceClient:
    """One device's socket: hello on open, then join / ping / leave requests."""

    def __init__(self, ws: ClientConnection, welcome: dict):
        self.ws = ws
        self.welcome = welcome
        self.heartbeat = float(welcome.get("heartbeat") or 20)

    @classmethod
    async def resume(
        cls, url: str, creds: DeviceCredentials, session: int, *, timeout: float = REPLY_TIMEOUT
    ) -> tuple["DeviceClient", dict]:
        """Reconnect to a session in one frame: the hello carries the session to re-attach to.

        Returns the client and the reply to the re-attach (joined, or an error).
        """
        client = await cls.open(url, creds, session=session)
        try:
            reply = await client.wait_for({"joined"}, timeout=timeout)
        except BaseException:
            await client.ws.close()
            raise
        return client, reply

    @classmethod
    async def open(
        cls, url: str, creds: DeviceCredentials, *, session: int | None = None
    ) -> "DeviceClient":
        # No Origin: a program authenticates by token. No proxy, no compression:
        # the simulator talks to one nearby server and should cost it little memory.
        # No WebSocket-level keepalive either: the protocol's own heartbeat
        # (ping frames of type "ping") is what a phone sends, and what keeps
        # the connection alive through proxies.
        ws = await connect(
            url,
            proxy=None,
            compression=None,
            open_timeout=REPLY_TIMEOUT,
            max_size=4096,
            ping_interval=None,
        )
        try:
            hello = {"type": "hello", "device": creds.device, "token": creds.token}
            if session is not None:
                hello["session"] = session
            await ws.send(json.dumps(hello))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
        except BaseException:
            await ws.close()
            raise
        if welcome.get("type") != "welcome":
            await ws.close()
            raise ProtocolError(f"expected welcome, got {welcome.get('type')!r}")
        return cls(ws, welcome)

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float | None = None) -> dict:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)

    async def request(
        self, frame: dict, replies: set[str], *, timeout: float = REPLY_TIMEOUT
    ) -> dict:
        """Send `frame` and return the first reply whose type is in `replies` (or an error)."""
        await self.send(frame)
        return await self.wait_for(replies, timeout=timeout)

    async def wait_for(self, replies: set[str], *, timeout: float = REPLY_TIMEOUT) -> dict:
        """The next message whose type is in `replies`, or an error, or session.ended."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(0.0, deadline - time.monotonic()))
            if message.get("type") in replies or message.get("type") == "error":
                return message
            if message.get("type") == "session.ended":
                return message

    async def join(
        self, *, code: str | None = None, session: int | None = None, timeout: float = REPLY_TIMEOUT
    ) -> dict:
        frame = {"type": "join", "code": code} if code else {"type": "join", "session": session}
        return await self.request(frame, {"joined"}, timeout=timeout)

    async def join_retrying(
        self,
        *,
        code: str | None = None,
        session: int | None = None,
        timeout: float = REPLY_TIMEOUT,
        retries: int = MAX_UNAVAILABLE_RETRIES,
    ) -> dict:
        """join, sent again (with jitter) while the server answers "unavailable"."""
        for _ in range(retries):
            reply = await self.join(code=code, session=session, timeout=timeout)
            if reply.get("code") != "unavailable":
                return reply
            await asyncio.sleep(UNAVAILABLE_RETRY_MIN + random.uniform(0, UNAVAILABLE_RETRY_SPREAD))
        return reply

    async def leave_and_close(self) -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError, OSError, ValueError):
            await asyncio.wait_for(self.request({"type": "leave"}, {"left"}), 2)
        await self.ws.close()


def close_code(exc: ConnectionClosed) -> int:
    return exc.rcvd.code if exc.rcvd is not None else 1006


# --- A swarm of devices (the command's loop) ------------------------------------------


@dataclass
class SwarmStats:
    total: int
    connecting: int = 0
    joined: set = field(default_factory=set)
    ever_joined: set = field(default_factory=set)
    errors: Counter = field(default_factory=Counter)
    ended: Counter = field(default_factory=Counter)
    reconnects: int = 0
    join_seconds: list[float] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def progress(self) -> str:
        parts = [f"joined {len(self.joined)}/{self.total}"]
        if self.connecting:
            parts.append(f"connecting {self.connecting}")
        if self.reconnects:
            parts.append(f"reconnects {self.reconnects}")
        if self.ended:
            parts.append("ended " + ", ".join(f"{k}={v}" for k, v in sorted(self.ended.items())))
        if self.errors:
            parts.append("errors " + ", ".join(f"{k}={v}" for k, v in sorted(self.errors.items())))
        return " · ".join(parts)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


CodeSource = Callable[[bool], Awaitable[str | None]]


async def run_device(
    creds: DeviceCredentials,
    *,
    url: str,
    code_source: CodeSource,
    stats: SwarmStats,
    gate: asyncio.Semaphore,
    heartbeat: float | None = None,
) -> str:
    """Keep one device joined until the session ends, it fails, or the task is cancelled.

    The first join uses the code; after a reconnect the device re-attaches by
    session id, since the code may have rotated meanwhile. Returns the outcome.
    """
    session_id: int | None = None
    failures = 0
    retried_code = False
    while True:
        client = None
        try:
            stats.connecting += 1
            try:
                async with gate:
                    if session_id is None:
                        client = await DeviceClient.open(url, creds)
                    else:
                        # Back to the session it joined: hello and re-attach in one frame.
                        client, reply = await DeviceClient.resume(url, creds, session_id)
                        if reply.get("code") == "unavailable":
                            reply = await client.join_retrying(session=session_id)
            finally:
                stats.connecting -= 1
            if session_id is None:
                started = time.monotonic()
                reply = await client.join_retrying(code=await code_source(False))
                if reply.get("code") == "invalid_code" and not retried_code:
                    # The code may have rotated twice since it was read; read it again once.
                    retried_code = True
                    fresh = await code_source(True)
                    if fresh:
                        started = time.monotonic()
                        reply = await client.join_retrying(code=fresh)
            if session_id is not None and reply.get("code") == "no_active_session":
                # The session ended while this device was reconnecting.
                stats.ended["ended_while_away"] += 1
                await client.ws.close()
                return "ended"
            if reply.get("type") == "error":
                stats.errors[reply.get("code", "error")] += 1
                await client.ws.close()
                return reply.get("code", "error")
            if reply.get("type") == "session.ended":
                stats.ended[reply.get("status", "unknown")] += 1
                return "ended"
            if session_id is None:
                stats.join_seconds.append(time.monotonic() - started)
            session_id = reply["session"]
            failures = 0
            stats.joined.add(creds.device)
            stats.ever_joined.add(creds.device)
            outcome = await _stay(client, heartbeat or client.heartbeat, stats)
            stats.joined.discard(creds.device)
            return outcome
        except asyncio.CancelledError:
            stats.joined.discard(creds.device)
            if client is not None:
                await client.leave_and_close()
            raise
        except ConnectionClosed as exc:
            stats.joined.discard(creds.device)
            code = close_code(exc)
            if code == CLOSE_ENDED:
                return "ended"
            if code in {CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_REPLACED}:
                stats.errors[f"closed_{code}"] += 1
                return f"closed_{code}"
            if code == CLOSE_SERVICE_RESTART:
                # A graceful restart: back at once, spread over RESTART_JITTER.
                stats.reconnects += 1
                await asyncio.sleep(random.uniform(0, RESTART_JITTER))
                continue
            # Only a successful join resets the count: a server that keeps
            # closing the socket before that must not be retried for ever.
            failures += 1
            if failures >= MAX_CONNECT_FAILURES:
                stats.errors[f"closed_{code}"] += 1
                return f"closed_{code}"
        except InvalidStatus as exc:
            # Refused before the socket opened (a wrong path): retrying will not help.
            stats.errors[f"http_{exc.response.status_code}"] += 1
            return f"http_{exc.response.status_code}"
        except (OSError, TimeoutError, InvalidHandshake, ProtocolError, ValueError):
            stats.joined.discard(creds.device)
            failures += 1
            if failures >= MAX_CONNECT_FAILURES:
                stats.errors["unreachable"] += 1
                return "unreachable"
        stats.reconnects += 1
        await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**failures)))


async def _stay(client: DeviceClient, interval: float, stats: SwarmStats) -> str:
    """Heartbeat until the server ends the session (then it closes with 4000)."""
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + interval
    while True:
        try:
            message = await client.recv(max(0.0, next_ping - loop.time()))
        except TimeoutError:
            await client.send({"type": "ping"})
            next_ping = loop.time() + interval
            continue
        if message.get("type") == "session.ended":
            stats.ended[message.get("status", "unknown")] += 1
            try:
                await asyncio.wait_for(client.ws.wait_closed(), REPLY_TIMEOUT)
            finally:
                await client.ws.close()
            return "ended"


async def run_swarm(
    devices: list[DeviceCredentials],
    *,
    url: str,
    code_source: CodeSource,
    concurrency: int,
    heartbeat: float | None,
    duration: float | None,
    stop: asyncio.Event,
    report: Callable[[SwarmStats], None] | None = None,
    report_every: float = 0.5,
) -> SwarmStats:
    """Run every device until all are done, `duration` passes, or `stop` is set."""
    stats = SwarmStats(total=len(devices))
    gate = asyncio.Semaphore(concurrency)
    tasks = [
        asyncio.create_task(
            run_device(
                creds,
                url=url,
                code_source=code_source,
                stats=stats,
                gate=gate,
                heartbeat=heartbeat,
            )
        )
        for creds in devices
    ]
    stopper = asyncio.create_task(stop.wait())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration if duration else None
    try:
        pending = set(tasks)
        while pending and not stop.is_set():
            wait_for = report_every
            if deadline is not None:
                wait_for = min(wait_for, deadline - loop.time())
                if wait_for <= 0:
                    break
            _done, pending = await asyncio.wait(
                pending | {stopper}, timeout=wait_for, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stopper)
            if report:
                report(stats)
    finally:
        stopper.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return stats
