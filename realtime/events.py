"""The /ws/events/ socket (DESIGN §4): lecturer events as JSON, for programs and apps.

Authenticated by the session cookie or, for programs, by an API token sent
as the first frame {"type": "auth", "token": "..."}; revoking the token closes
the socket (4401) at once. Browsers always send an
Origin (checked against ALLOWED_HOSTS by the router); a connection without one
is a program, and the cookie alone does not authenticate it.
"""

import asyncio

from channels.db import database_sync_to_async

from attendance.tokens import authenticate_api_token
from realtime import broadcast, snapshots
from realtime.lecturer import LecturerSocket
from realtime.protocol import CLOSE_UNAUTHENTICATED, ClientError

# What each event carries to clients, in this order; anything else is internal.
EVENT_FIELDS = {
    "session.started": ("type", "course", "session", "started_at"),
    "session.counts": ("type", "course", "session", "connected", "checked_in", "enrolled"),
    "session.code": ("type", "course", "session", "code", "expires_at"),
    "session.ended": (
        "type",
        "course",
        "session",
        "ended_at",
        "reason",
        "present",
        "late",
        "absent",
    ),
}


def has_origin(scope: dict) -> bool:
    return any(name == b"origin" for name, _ in scope.get("headers", ()))


def public_event(event: dict) -> dict:
    return {field: event[field] for field in EVENT_FIELDS[event["type"]]}


class EventsConsumer(LecturerSocket):
    auth_timeout = 10.0
    kind = "events"

    async def connect(self):
        self._auth_deadline = None
        self._auth_pending = False
        if not await super().connect():
            return
        user = self.scope.get("user")
        if user is not None and user.is_authenticated and has_origin(self.scope):
            await self.start_for_signed_in(user)
        else:
            self._auth_deadline = asyncio.create_task(self._close_without_auth())

    async def disconnect(self, code):
        if self._auth_deadline is not None:
            self._auth_deadline.cancel()
        await super().disconnect(code)

    async def _close_without_auth(self) -> None:
        await asyncio.sleep(self.auth_timeout)
        if self.audience is not None:
            return
        if self._auth_pending:
            # The token came, the database has not answered: not the program's fault.
            await self.unavailable_then_close()
        else:
            await self.close_with(CLOSE_UNAUTHENTICATED)

    async def handle(self, message: dict) -> None:
        kind = message["type"]
        if self.audience is None:
            await self.cmd_auth(message)
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "auth":
            raise ClientError("bad_message", "Already authenticated.")
        else:
            raise ClientError("unknown_type", f"Unknown message type {kind!r}.")

    async def cmd_auth(self, message: dict) -> None:
        token = message.get("token")
        api_token = None
        if message["type"] == "auth" and isinstance(token, str):
            self._auth_pending = True
            try:
                api_token = await database_sync_to_async(authenticate_api_token)(token)
            finally:
                self._auth_pending = False
        if self.closing:
            return  # the deadline passed while the database was slow: 1013 already
        if api_token is None:
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        self._auth_deadline.cancel()
        await self.start_for_credential(
            api_token.user,
            group=broadcast.api_token_group(api_token.pk),
            valid=lambda: authenticate_api_token(token) is not None,
        )

    async def send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(snapshots.json_snapshot)(audience=self.audience)
        await self.send_json(snapshot)

    async def push_counts(self, event: dict) -> None:
        await self.send_json(public_event(event))

    async def push_session_event(self, event: dict) -> None:
        await self.send_json(public_event(event))

    async def send_stale(self) -> None:
        # Events may be missing until the next {"type": "snapshot"}.
        await self.send_json({"type": "stale"})

    async def send_live(self) -> None:
        return  # the snapshot just sent says it
