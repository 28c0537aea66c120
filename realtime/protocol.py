"""What every Roll-call socket shares: frame rules, close codes, client errors.

Frames are JSON objects in text frames of at most 4 KiB, with a string
"type". Anything else closes the socket with 4400; a well-formed frame the
server cannot act on is answered with an error frame. Neither is an
exception in the server log.
"""

import asyncio
import json
import logging
import time
import weakref

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import broadcast, metrics

logger = logging.getLogger("rollcall.realtime")

MAX_FRAME_BYTES = 4096

CLOSE_SESSION_ENDED = 4000
CLOSE_PROTOCOL = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_RATE_LIMITED = 4429
CLOSE_REPLACED = 4409  # the same device said hello on a newer socket
# The server is restarting: come back at once (RFC 6455 "Service Restart"; one
# of the codes htmx-ext-ws 2.x reconnects after, DESIGN §1).
CLOSE_SERVICE_RESTART = 1012
# The server cannot do it now (its database is away): come back later (RFC 6455).
CLOSE_TRY_AGAIN_LATER = 1013

# Set in a socket's scope when its cookie's user could not be looked up for that reason.
DATABASE_AWAY = "rollcall.database_away"

# Every socket open in this process, by kind, for the graceful shutdown
# (realtime/shutdown.py) and the open-sockets gauge, which counts them when
# scraped. Weak: a consumer that crashed is gone from them too.
open_sockets: dict[str, weakref.WeakSet] = {
    kind: weakref.WeakSet() for kind in metrics.SOCKET_KINDS
}
for _kind, _sockets in open_sockets.items():
    metrics.OPEN_SOCKETS.labels(_kind).set_function(_sockets.__len__)


# A heartbeat, as browsers (JSON.stringify) and Python (json.dumps) spell it,
# and its answer.
PING_FRAMES = frozenset({b'{"type":"ping"}', b'{"type": "ping"}'})
PONG = {"type": "pong"}
PONG_FRAME = json.dumps(PONG, separators=(",", ":")).encode()  # as send_json sends it

UNAVAILABLE = "The server cannot reach its database; try again shortly."


class ClientError(Exception):
    """Answered with {"type": "error", "code": code, "detail": detail}; the socket stays open."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


def require(message: dict, field: str, kind: type | tuple[type, ...]) -> object:
    """The field's value, or a bad_message error naming it."""
    value = message.get(field)
    # bool is an int to Python, never to the protocol.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ClientError("bad_message", f'"{field}" is missing or has the wrong type.')
    return value


class JsonSocket(AsyncWebsocketConsumer):
    """Checks every frame, then hands the decoded object to `handle`."""

    # A device sends a ping every heartbeat; this is far above any honest client.
    flood_limit = 30
    flood_window = 10.0
    kind = "device"  # which open-sockets gauge counts it (realtime/metrics.py)
    # Set for the whole process by a graceful shutdown (realtime/shutdown.py).
    draining = False

    async def websocket_connect(self, message):
        self.closing = False
        self._window_start = time.monotonic()
        self._window_count = 0
        broadcast.remember_server_loop(asyncio.get_running_loop())
        open_sockets[self.kind].add(self)
        await super().websocket_connect(message)
        if self.draining:
            await self.close_with(CLOSE_SERVICE_RESTART)

    async def websocket_disconnect(self, message):
        open_sockets[self.kind].discard(self)
        await super().websocket_disconnect(message)

    async def dispatch(self, message):
        # channels runs close_old_connections() before every handler, in the
        # one thread all database work shares: a ping or a count push would
        # queue behind a burst of joins. These consumers reach the database
        # only through database_sync_to_async, which closes old connections
        # itself, so the handler runs at once.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def close_with(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    async def send_json(self, content: dict) -> None:
        if not self.closing:
            await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_error(self, code: str, detail: str = "") -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    async def unavailable_then_close(self) -> None:
        """The database is away: say so, and close with 1013 (reconnect later)."""
        await self.send_error("unavailable", UNAVAILABLE)
        await self.close_with(CLOSE_TRY_AGAIN_LATER)

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing or self.draining:
            return
        if text_data is None or bytes_data is not None:
            await self.close_with(CLOSE_PROTOCOL)
            return
        if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode("utf-8")) > MAX_FRAME_BYTES:
            await self.close_with(CLOSE_PROTOCOL)
            return
        if self._flooding():
            await self.close_with(CLOSE_RATE_LIMITED)
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            await self.close_with(CLOSE_PROTOCOL)
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.close_with(CLOSE_PROTOCOL)
            return
        try:
            await self.handle(message)
        except ClientError as error:
            await self.send_error(error.code, error.detail)

    def _flooding(self) -> bool:
        now = time.monotonic()
        if now - self._window_start > self.flood_window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > self.flood_limit

    async def handle(self, message: dict) -> None:
        raise NotImplementedError

    # --- channel-layer handlers every socket has -------------------------------------

    async def layer_down(self, event: dict) -> None:
        """This process lost Redis (realtime/layer.py); events may be missed until layer.up."""

    async def layer_up(self, event: dict) -> None:
        """This process listens again; what was published meanwhile is lost."""
