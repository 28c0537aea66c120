"""The /ws/device/ socket (DESIGN §4): a student's phone reporting presence.

Token-authenticated by its first frame, so it is routed without the cookie
stack and may arrive without an Origin. The rules live in
attendance/presence.py; this consumer only translates frames to calls and
refusals to error frames or close codes.
"""

import asyncio
import ipaddress
import logging

from django.utils import timezone

from attendance import presence
from attendance.devices import hello_device
from realtime import broadcast
from realtime.db import db_call
from realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_SESSION_ENDED,
    CLOSE_UNAUTHENTICATED,
    ClientError,
    JsonSocket,
    require,
)

logger = logging.getLogger("rollcall.realtime")


def _client_ip(scope: dict) -> str | None:
    client = scope.get("client") or (None,)
    try:
        return str(ipaddress.ip_address(client[0]))
    except (TypeError, ValueError):
        return None


class DeviceConsumer(JsonSocket):
    hello_timeout = 10.0

    # --- socket handlers ------------------------------------------------------------

    async def connect(self):
        self.device = None
        self.session_id = None
        self.last_written = None
        await self.accept()
        self._hello_deadline = asyncio.create_task(self._close_without_hello())

    async def disconnect(self, code):
        self._hello_deadline.cancel()
        if self.device is None:
            return
        await self.channel_layer.group_discard(
            broadcast.device_group(self.device.pk), self.channel_name
        )
        if self.session_id is not None:
            await self._leave_session()

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

    async def _close_without_hello(self) -> None:
        await asyncio.sleep(self.hello_timeout)
        if self.device is None:
            await self.close_with(CLOSE_UNAUTHENTICATED)

    # --- command handlers --------------------------------------------------------------

    async def cmd_hello(self, message: dict) -> None:
        device_id, token = message.get("device"), message.get("token")
        device = await db_call(hello_device)(public_id=device_id, token=token)
        if device is None:
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        self.device = device
        # The hello touched the device: it counts as the first heartbeat.
        self.last_written = device.last_used_at
        self._hello_deadline.cancel()
        await self.channel_layer.group_add(broadcast.device_group(device.pk), self.channel_name)
        await self.send_json(
            {
                "type": "welcome",
                "device": str(device.public_id),
                "student": device.student.student_number,
                "heartbeat": presence.heartbeat_seconds(),
            }
        )

    async def cmd_hello_again(self, message: dict) -> None:
        raise ClientError("bad_message", "Already authenticated.")

    async def cmd_join(self, message: dict) -> None:
        ip_address = _client_ip(self.scope)
        try:
            if "code" in message:
                code = require(message, "code", str)
                session = await db_call(presence.join_by_code)(
                    device=self.device, code=code, ip_address=ip_address
                )
            elif "session" in message:
                session_id = require(message, "session", int)
                session = await db_call(presence.join_by_session)(
                    device=self.device, session_id=session_id, ip_address=ip_address
                )
            else:
                raise ClientError("bad_message", 'A join needs "code" or "session".')
        except presence.JoinRefused as refusal:
            raise ClientError(refusal.code, refusal.detail) from None
        except presence.DeviceRevoked:
            await self.close_with(CLOSE_FORBIDDEN)
            return
        if self.session_id is not None and self.session_id != session.pk:
            await self._leave_session()
        self.session_id = session.pk
        self.last_written = timezone.now()
        await self.channel_layer.group_add(
            broadcast.session_devices_group(session.pk), self.channel_name
        )
        await self.send_json(
            {"type": "joined", "session": session.pk, "course": session.course_code}
        )

    async def cmd_ping(self, message: dict) -> None:
        if await self._heartbeat():
            await self.send_json({"type": "pong"})

    async def cmd_leave(self, message: dict) -> None:
        if self.session_id is not None:
            await self._leave_session()
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
        await self.channel_layer.group_discard(
            broadcast.session_devices_group(self.session_id), self.channel_name
        )
        self.session_id = None
        await self.send_json(
            {"type": "session.ended", "session": event["session"], "status": status}
        )
        await self.close_with(CLOSE_SESSION_ENDED)

    async def device_revoked(self, event: dict) -> None:
        await self.close_with(CLOSE_FORBIDDEN)

    # --- helpers ----------------------------------------------------------------------------

    async def _heartbeat(self) -> bool:
        """Write presence if due; False (and the socket closed) if the device was revoked."""
        now = timezone.now()
        try:
            self.last_written = await db_call(presence.heartbeat)(
                device=self.device,
                session_id=self.session_id,
                last_written=self.last_written,
                now=now,
            )
        except presence.DeviceRevoked:
            await self.close_with(CLOSE_FORBIDDEN)
            return False
        return True

    async def _leave_session(self) -> None:
        session_id, self.session_id = self.session_id, None
        await self.channel_layer.group_discard(
            broadcast.session_devices_group(session_id), self.channel_name
        )
        await db_call(presence.leave)(device=self.device, session_id=session_id)
