"""The /ws/device/ socket (DESIGN §4): a student's phone reporting presence.

Token-authenticated by its first frame, so it is routed without the cookie
stack and may arrive without an Origin. The rules live in
attendance/presence.py; this consumer only translates frames to calls and
refusals to error frames or close codes.
"""

import asyncio
import ipaddress
import logging
import time

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.utils import timezone

from attendance import presence
from attendance.devices import DeviceRef, hello_many
from realtime import broadcast, metrics
from realtime.batching import Batcher
from realtime.daphne import QUICK_REPLIES
from realtime.db import DB_DOWN, db_call
from realtime.hub import hub
from realtime.layer import LOST as LAYER_LOST
from realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_REPLACED,
    CLOSE_SESSION_ENDED,
    CLOSE_UNAUTHENTICATED,
    PING_FRAMES,
    PONG,
    PONG_FRAME,
    UNAVAILABLE,
    ClientError,
    JsonSocket,
    require,
)

logger = logging.getLogger("rollcall.realtime")

# After the channel layer comes back, one check per session and process
# whether it ended meanwhile, shared by all its devices for this long.
SESSION_CHECK_SECONDS = 2.0


# Each kind of database work of all the process's device sockets, in batches.
hellos = Batcher(hello_many)
joins = Batcher(presence.join_many)
# Nobody waits for a heartbeat's write: it waits half a second for company.
heartbeats = Batcher(presence.heartbeat_many, linger=0.5, parallel=1)
leaves = Batcher(presence.leave_many)


def unavailable() -> ClientError:
    return ClientError("unavailable", UNAVAILABLE)


def _client_ip(scope: dict) -> str | None:
    client = scope.get("client") or (None,)
    try:
        return str(ipaddress.ip_address(client[0]))
    except (TypeError, ValueError):
        return None


_session_checks: dict[int, tuple[float, asyncio.Future]] = {}


async def _session_active(session_id: int) -> bool:
    """Whether the session still runs: one query per session however many devices ask."""
    loop = asyncio.get_running_loop()
    checked = _session_checks.get(session_id)
    if checked is None or loop.time() - checked[0] > SESSION_CHECK_SECONDS:
        future = asyncio.ensure_future(db_call(presence.session_is_active)(session_id=session_id))
        checked = _session_checks[session_id] = (loop.time(), future)
    return await asyncio.shield(checked[1])


class DeviceConsumer(JsonSocket):
    hello_timeout = 10.0
    kind = "device"

    async def __call__(self, scope, receive, send):
        # No channel, queue and listening task of its own (channels' default):
        # the process's hub hears the channel layer for every device socket
        # (realtime/hub.py), and frames are read in a plain loop.
        self.scope = scope
        self.channel_layer = get_channel_layer()
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    # --- socket handlers ------------------------------------------------------------

    async def connect(self):
        self.device = None
        self.session_id = None
        self._wrote(None)
        self._writing: asyncio.Future | None = None
        self._hello_pending = False
        self.hub = hub(self.channel_layer)
        await self.accept()
        # A timer, not a task: a task cancelled after the hello would keep its
        # exception, traceback and frame for the socket's lifetime.
        self._hello_deadline = asyncio.get_running_loop().call_later(
            self.hello_timeout, self._no_hello_in_time
        )

    async def disconnect(self, code):
        self._forget_hello_deadline()
        self.closing = True  # nothing more is sent, no heartbeat written
        if self.device is None:
            return
        self._answer_quickly(False)
        await self.hub.leave(broadcast.device_group(self.device.pk), self)
        if self.session_id is None:
            return
        # A graceful restart keeps the device counted: it is back in a moment.
        if self.draining:
            await self._stop_hearing_session()
            return
        try:
            await self._leave_session()
        except DB_DOWN:
            logger.warning("Could not record that device %s left", self.device.pk)

    async def handle(self, message: dict) -> None:
        kind = message["type"]
        if self.device is None:
            if kind != "hello":
                await self.close_with(CLOSE_UNAUTHENTICATED)
                return
            await self.cmd_hello(message)
            return
        handler = self.commands.get(kind)
        if handler is None:
            raise ClientError("unknown_type", f"Unknown message type {kind!r}.")
        await handler(self, message)

    def _no_hello_in_time(self) -> None:
        self._hello_deadline = None
        if self.device is not None:
            return
        if self._hello_pending:
            # The hello came, the database has not answered it: not the device's fault.
            self._closer = asyncio.ensure_future(self.unavailable_then_close())
        else:
            self._closer = asyncio.ensure_future(self.close_with(CLOSE_UNAUTHENTICATED))

    def _forget_hello_deadline(self) -> None:
        if self._hello_deadline is not None:
            self._hello_deadline.cancel()
            self._hello_deadline = None

    # --- command handlers --------------------------------------------------------------

    async def cmd_hello(self, message: dict) -> None:
        device_id, token = message.get("device"), message.get("token")
        self._hello_pending = True
        try:
            device = await hellos((device_id, token))
        except DB_DOWN:
            # Not authenticated yet, so not worth keeping: reconnect later.
            await self.unavailable_then_close()
            return
        finally:
            self._hello_pending = False
        if self.closing:
            return  # the deadline passed while the database was slow: 1013 already
        if device is None:
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        self.device = DeviceRef.of(device)
        self._wrote(None)  # the first heartbeat writes
        self._forget_hello_deadline()
        self._answer_quickly(True)
        group = broadcast.device_group(device.pk)
        await self.hub.join(group, self)
        # One live socket per device token: an older socket of this device,
        # on any process, closes itself when it hears this (device_hello).
        self.hello_at = time.time_ns()
        self.socket_id = self.hub.socket_id()
        try:
            await self.channel_layer.group_send(
                group,
                {
                    "type": "device.hello",
                    "device": device.pk,
                    "channel": self.socket_id,
                    "at": self.hello_at,
                },
            )
        except LAYER_LOST as exc:
            logger.warning("Could not announce device %s's new socket: %r", device.pk, exc)
        await self.send_json(
            {
                "type": "welcome",
                "device": str(device.public_id),
                "student": device.student.student_number,
                "heartbeat": presence.heartbeat_seconds(),
            }
        )
        if "session" in message:
            # A resume: hello and re-attach in one frame, for a device coming back.
            await self.cmd_join({"type": "join", "session": message["session"]})

    async def cmd_hello_again(self, message: dict) -> None:
        raise ClientError("bad_message", "Already authenticated.")

    async def cmd_join(self, message: dict) -> None:
        try:
            await self._join(message)
        except ClientError as error:
            metrics.joins.get(error.code, metrics.joins["bad_message"]).inc()
            raise
        except DB_DOWN:
            metrics.joins["unavailable"].inc()
            raise unavailable() from None

    async def _join(self, message: dict) -> None:
        ip_address = _client_ip(self.scope)
        try:
            if "code" in message:
                request = presence.JoinRequest(
                    device=self.device,
                    code=require(message, "code", str),
                    ip_address=ip_address,
                )
            elif "session" in message:
                request = presence.JoinRequest(
                    device=self.device,
                    session_id=require(message, "session", int),
                    ip_address=ip_address,
                )
            else:
                raise ClientError("bad_message", 'A join needs "code" or "session".')
            session = await joins(request)
        except presence.JoinRefused as refusal:
            raise ClientError(refusal.code, refusal.detail) from None
        except presence.DeviceRevoked:
            metrics.joins["revoked"].inc()
            await self.close_with(CLOSE_FORBIDDEN)
            return
        metrics.joins["joined"].inc()
        if self.session_id is not None and self.session_id != session.pk:
            await self._leave_session()
        self.session_id = session.pk
        self._wrote(timezone.now())
        await self.hub.join(broadcast.session_devices_group(session.pk), self)
        await self.send_json(
            {"type": "joined", "session": session.pk, "course": session.course_code}
        )

    async def cmd_ping(self, message: dict) -> None:
        self._heartbeat()
        await self.send_json(PONG)

    async def cmd_leave(self, message: dict) -> None:
        if self.session_id is not None:
            try:
                await self._leave_session()
            except DB_DOWN:
                raise unavailable() from None
        await self.send_json({"type": "left"})

    commands = {
        "hello": cmd_hello_again,
        "join": cmd_join,
        "ping": cmd_ping,
        "leave": cmd_leave,
    }

    # --- channel-layer handlers -----------------------------------------------------------

    async def session_ended(self, event: dict) -> None:
        if event.get("session") != self.session_id or self.device is None:
            return
        status = event.get("statuses", {}).get(str(self.device.student_id), "absent")
        await self._stop_hearing_session()
        await self.send_json(
            {"type": "session.ended", "session": event["session"], "status": status}
        )
        await self.close_with(CLOSE_SESSION_ENDED)

    async def device_revoked(self, event: dict) -> None:
        await self.close_with(CLOSE_FORBIDDEN)

    async def device_hello(self, event: dict) -> None:
        """The same device said hello on another socket: the newer one stays."""
        if event["channel"] == self.socket_id:
            return
        if (event["at"], event["channel"]) > (self.hello_at, self.socket_id):
            metrics.DEVICES_REPLACED.inc()
            # Its presence row stays: the newer socket carries on with it.
            await self._stop_hearing_session()
            await self.close_with(CLOSE_REPLACED)

    async def layer_up(self, event: dict) -> None:
        """The channel layer was down: a session.ended may have been missed, so ask."""
        session_id = self.session_id
        if session_id is None:
            return
        try:
            if await _session_active(session_id):
                return
            status = await db_call(presence.session_status)(
                session_id=session_id, student_id=self.device.student_id
            )
        except DB_DOWN:
            return  # the next heartbeat finds out
        await self.session_ended(
            {"session": session_id, "statuses": {str(self.device.student_id): status}}
        )

    # --- helpers ----------------------------------------------------------------------------

    def _answer_quickly(self, on: bool) -> None:
        """Under daphne, let the frame layer answer pings (realtime/daphne.py) or stop it."""
        answer = self.scope.get(QUICK_REPLIES)
        if answer is not None:
            answer(self._quick_reply if on else None)

    def _quick_reply(self, payload: bytes) -> bytes | None:
        """The pong for a ping the frame layer read, or None: the usual way (receive)."""
        if payload not in PING_FRAMES or self.closing or self.draining or self._flooding():
            return None
        self._heartbeat()
        return PONG_FRAME

    def _heartbeat(self) -> None:
        """Write presence if due, in the background: the pong does not wait for it.

        What the write finds out comes after the pong: a revoked device is
        closed with 4403, a database out of reach is an unavailable error.
        """
        if self._writing is not None or self.closing:
            return
        # heartbeat_many's test of whether a write is due, in floats: this runs for every ping.
        if time.time() - self._written_at < presence.heartbeat_seconds():
            return
        # Until its batch is back: a leave waits for it (_written_first).
        self._writing = heartbeats.post(
            presence.HeartbeatRequest(
                device=self.device, session_id=self.session_id, last_written=self.last_written
            ),
            self._written,
        )

    def _written(self, outcome) -> None:
        self._writing = None
        if isinstance(outcome, presence.DeviceRevoked):
            self._closer = asyncio.ensure_future(self.close_with(CLOSE_FORBIDDEN))
        elif isinstance(outcome, DB_DOWN):
            self._closer = asyncio.ensure_future(self.send_error("unavailable", UNAVAILABLE))
        elif isinstance(outcome, BaseException):
            logger.error("A heartbeat's write failed", exc_info=outcome)
        else:
            self._wrote(outcome)

    def _wrote(self, at) -> None:
        """Presence was last written `at` (None: never by this socket)."""
        self.last_written = at
        self._written_at = at.timestamp() if at is not None else 0.0

    async def _written_first(self) -> None:
        """Wait for a heartbeat's write in flight: it must not land after a leave."""
        if self._writing is not None:
            await asyncio.shield(self._writing)

    async def _stop_hearing_session(self) -> None:
        session_id, self.session_id = self.session_id, None
        if session_id is not None:
            await self.hub.leave(broadcast.session_devices_group(session_id), self)

    async def _leave_session(self) -> None:
        session_id = self.session_id
        await self._written_first()
        await self._stop_hearing_session()
        await leaves(presence.LeaveRequest(device=self.device, session_id=session_id))
